# Reference values from R, independent of flakemeter's C code (GSL + our own root finding).
# Run:  Rscript gen_exact_jeffreys_plan.R
#       (writes intervals_r.csv, plan_r.csv, attempts_r.csv, beta_cdf_r.csv)
# Produced with R 4.2.2 (Debian r-base-core 4.2.2.20221110-2).
#
# exact:    stats::binom.test(k, n, conf.level = c)$conf.int (two-sided), and
#           binom.test(..., alternative = "less")$conf.int[2] (one-sided upper bound).
#           For n > 1e6 binom.test itself allocates O(n) memory for its p-value, so there we
#           call qbeta() exactly as binom.test's own code does for the interval:
#           lower = qbeta(alpha/2, k, n-k+1) (0 at k = 0), upper = qbeta(1-alpha/2, k+1, n-k)
#           (1 at k = n); one-sided upper = qbeta(c, k+1, n-k).
# jeffreys: qbeta(alpha/2 and 1-alpha/2, k+1/2, n-k+1/2), lower 0 at k = 0 and upper 1 at
#           k = n (Brown, Cai & DasGupta 2001, sec. 4.1.2); one-sided upper qbeta(c, ...).
#           One case draws a warning from qbeta (k = n-1 = 1e12-1, c = 0.01): there 1 - x is
#           ~1.7e-12, so one ulp of x moves the CDF by ~1e-4 and no double is closer; R's x
#           agrees with scipy.stats.beta.ppf to the last digit, so the row is kept.
# conservative attempts: p = qbeta(c, k+1, n-k), the one-sided exact upper bound, then the
#           smallest A with p^A <= target (ties within a relative 1e-12 meet the target).
# plan:     smallest n with pbinom(k, n, p0) <= 1 - c, by doubling then bisection on n.
options(digits = 17)
source_tag <- paste0("R ", getRversion())

cases <- list(c(0, 1), c(1, 1), c(0, 10), c(1, 10), c(5, 10), c(10, 10), c(3, 50),
              c(0, 100), c(1, 100), c(99, 100), c(100, 100), c(17, 575), c(103, 575),
              c(0, 1000), c(7, 1000), c(1, 1e6), c(999999, 1e6), c(0, 1e9), c(2, 1e9),
              c(0, 1e12), c(1, 1e12), c(3, 1e12), c(1e12 - 1, 1e12))
levels <- c(0.01, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999999)

exact <- function(k, n, c, sided) {
  if (n <= 1e6) {
    if (sided == "two") return(as.numeric(binom.test(k, n, conf.level = c)$conf.int))
    return(as.numeric(binom.test(k, n, alternative = "less", conf.level = c)$conf.int))
  }
  if (sided == "two") {
    a <- (1 - c) / 2
    lo <- if (k == 0) 0 else qbeta(a, k, n - k + 1)
    up <- if (k == n) 1 else qbeta(1 - a, k + 1, n - k)
    return(c(lo, up))
  }
  c(0, if (k == n) 1 else qbeta(c, k + 1, n - k))
}

jeffreys <- function(k, n, c, sided) {
  if (sided == "two") {
    a <- (1 - c) / 2
    lo <- if (k == 0) 0 else qbeta(a, k + 0.5, n - k + 0.5)
    up <- if (k == n) 1 else qbeta(1 - a, k + 0.5, n - k + 0.5)
    return(c(lo, up))
  }
  c(0, if (k == n) 1 else qbeta(c, k + 0.5, n - k + 0.5))
}

rows <- list()
for (kn in cases) for (c in levels) for (sided in c("two", "upper")) {
  k <- kn[1]; n <- kn[2]
  e <- exact(k, n, c, sided)
  j <- jeffreys(k, n, c, sided)
  how <- if (n <= 1e6) "binom.test" else "qbeta as in binom.test"
  rows[[length(rows) + 1]] <- data.frame(method = "exact", sided = sided, k = k, n = n,
    confidence = c, lower = e[1], upper = e[2], source = paste(source_tag, how))
  rows[[length(rows) + 1]] <- data.frame(method = "jeffreys", sided = sided, k = k, n = n,
    confidence = c, lower = j[1], upper = j[2], source = paste(source_tag, "qbeta"))
}
out <- do.call(rbind, rows)
fmt <- function(df, ints, reals) {
  for (col in ints) df[[col]] <- sprintf("%.0f", df[[col]])
  for (col in reals) df[[col]] <- sprintf("%.17g", df[[col]])
  df
}
write.csv(fmt(out, c("k", "n"), c("confidence", "lower", "upper")), "intervals_r.csv",
          row.names = FALSE, quote = FALSE)

plan_n <- function(p0, k, c) {
  alpha <- 1 - c
  ok <- function(n) pbinom(k, n, p0) <= alpha
  lo <- k; hi <- k + 1
  while (!ok(hi)) { lo <- hi; hi <- hi * 2 }
  while (hi - lo > 1) { mid <- floor((lo + hi) / 2); if (ok(mid)) hi <- mid else lo <- mid }
  hi
}
plans <- expand.grid(p0 = c(0.5, 0.1, 0.01, 0.001, 1e-6, 1e-9), k = c(0, 1, 3, 10),
                     confidence = c(0.75, 0.9, 0.95, 0.99, 0.999999))
plans$runs <- mapply(plan_n, plans$p0, plans$k, plans$confidence)
plans$source <- paste(source_tag, "pbinom")
write.csv(fmt(plans, c("k", "runs"), c("p0", "confidence")), "plan_r.csv", row.names = FALSE,
          quote = FALSE)

cons <- expand.grid(k = c(3, 0, 1, 17, 0, 2), target = c(1e-6, 1e-3), confidence = c(0.9, 0.95, 0.99))
cons$n <- c(50, 100, 1000, 575, 1e6, 1e9)[match(seq_len(nrow(cons)) %% 6, c(1:5, 0))]
cons$kind <- "conservative"
cons$p <- qbeta(cons$confidence, cons$k + 1, cons$n - cons$k)
cons$attempts <- mapply(function(p, t) {
  a <- 1; r <- p
  while (r > t * (1 + 1e-12)) { r <- r * p; a <- a + 1 }
  a
}, cons$p, cons$target)
cons$residual <- cons$p^cons$attempts
cons$source <- paste(source_tag, "qbeta")
cons <- cons[, c("kind", "k", "n", "target", "confidence", "attempts", "residual", "source")]
write.csv(fmt(cons, c("k", "n", "attempts"), c("target", "confidence", "residual")),
          "attempts_r.csv", row.names = FALSE, quote = FALSE)

# beta CDF: pbeta(x, a, b) and pbeta(x, a, b, lower.tail = FALSE) (TOMS 708) at the 1e-6, 2%,
# 26%, 50%, 74%, 98% and 1-1e-6 quantiles of parameter pairs from 1/2 to 1e12 - the ones
# flakemeter's intervals and plans use, and both-large pairs near the peak.
par <- c(0.5, 1, 2.5, 4, 30, 1000.5, 99999, 1e9, 1e12)
grid <- expand.grid(a = par, b = par, u = c(1e-6, 0.02, 0.26, 0.5, 0.74, 0.98, 1 - 1e-6))
grid$x <- qbeta(grid$u, grid$a, grid$b)
grid <- grid[grid$x > 0 & grid$x < 1, ]
grid$lower <- pbeta(grid$x, grid$a, grid$b)
grid$upper <- pbeta(grid$x, grid$a, grid$b, lower.tail = FALSE)
grid$source <- paste(source_tag, "pbeta")
grid <- grid[, c("a", "b", "x", "lower", "upper", "source")]
write.csv(fmt(grid, character(0), c("a", "b", "x", "lower", "upper")), "beta_cdf_r.csv",
          row.names = FALSE, quote = FALSE)
