# Reference values for the confidence sequence and the retry-chain statistics, computed in R
# independently of flakemeter's C code (which uses Stirling's series, a KL form and GSL's Brent
# solver; this script uses R's lbeta, log1p and uniroot directly).
# Run:  cd tests/reference && Rscript gen_seq_chain.R
#       (writes cs_r.csv, fisher_r.csv, chain_r.csv)
# Produced with R 4.2.2 (Debian r-base-core 4.2.2.20221110-2).
#
# cs:     the confidence sequence {p : B(k+a, n-k+b)/B(a,b) / (p^k (1-p)^(n-k)) < 1/alpha},
#         alpha = 1 - c: each bound is a root of
#           f(p) = lbeta(k+a, n-k+b) - lbeta(a, b) - k log(p) - (n-k) log1p(-p) - log(1/alpha)
#         found by uniroot (tol = DBL_MIN, so zeroin stops at ~2 ulps relative) on
#         [DBL_MIN, k/n] and [k/n, 1 - 2^-53]; lower = 0 at k = 0, upper = 1 at k = n.
#         For k ~ n/2 at n = 1e9 lbeta is ~7e8 and loses ~1e-7 absolute, which moves the bound
#         by ~1e-12 relative: well inside the 1e-9 the test allows.
# fisher: stats::fisher.test(matrix(c(a, c, b, d), 2))$p.value, two-sided, for the table
#         [[a, b], [c, d]] (R fills matrices by column).
# chain:  first attempts k1 of n1, retries kq of nq: binom.test intervals at c, one-sided
#         upper bounds qbeta((1+c)/2, k+1, n-k) (Bonferroni: each at (1+c)/2), fisher.test on
#         [[k1, n1-k1], [kq, nq-kq]], and correlated attempt counts by repeated
#         multiplication: A = 1, r = p1; while r > target (1 + 1e-12): r = r q, A = A + 1
#         (0 = unreachable: q = 1 with p1 above the target).
options(digits = 17)
source_tag <- paste0("R ", getRversion())
fmt <- function(df, ints, reals) {
  for (col in ints) df[[col]] <- sprintf("%.0f", df[[col]])
  for (col in reals) df[[col]] <- sprintf("%.17g", df[[col]])
  df
}

cs_bounds <- function(k, n, c, a, b) {
  lv <- log(1 / (1 - c))
  f <- function(p) {
    lbeta(k + a, n - k + b) - lbeta(a, b) - (if (k > 0) k * log(p) else 0) -
      (if (n - k > 0) (n - k) * log1p(-p) else 0) - lv
  }
  root <- function(lo, hi) {
    uniroot(f, c(lo, hi), tol = .Machine$double.xmin, maxiter = 100000)$root
  }
  phat <- k / n
  lo <- if (k == 0) 0 else root(.Machine$double.xmin, phat)
  # an upper bound past 1 - 2^-53 is 1 in double precision (k = n-2, n = 1e9, prior b = 2)
  up <- if (k == n || f(1 - 2^-53) <= 0) 1 else root(phat, 1 - 2^-53)
  c(lo, up)
}

kn <- list(c(0, 1), c(1, 1), c(0, 2), c(1, 2), c(0, 10), c(1, 10), c(3, 10), c(10, 10),
           c(0, 100), c(1, 100), c(7, 100), c(50, 100), c(99, 100), c(100, 100),
           c(0, 1000), c(1, 1000), c(80, 1000), c(999, 1000), c(0, 1e5), c(37, 1e5),
           c(0, 1e6), c(1, 1e6), c(1000, 1e6), c(5e5, 1e6), c(0, 1e9), c(3, 1e9),
           c(12345, 1e9), c(5e8, 1e9), c(1e9 - 2, 1e9), c(1e9, 1e9), c(0, 1e12), c(3, 1e12))
levels <- c(0.5, 0.9, 0.95, 0.99, 0.999999)
priors <- list(c(0.5, 0.5), c(1, 1), c(0.1, 2))
rows <- list()
for (x in kn) for (c in levels) for (pr in priors) {
  bd <- cs_bounds(x[1], x[2], c, pr[1], pr[2])
  rows[[length(rows) + 1]] <- data.frame(k = x[1], n = x[2], confidence = c, prior_a = pr[1],
    prior_b = pr[2], lower = bd[1], upper = bd[2],
    source = paste(source_tag, "uniroot on lbeta/log1p"))
}
cs <- do.call(rbind, rows)
write.csv(fmt(cs, c("k", "n"), c("confidence", "prior_a", "prior_b", "lower", "upper")),
          "cs_r.csv", row.names = FALSE, quote = FALSE)

fisher <- function(a, b, c, d) fisher.test(matrix(c(a, c, b, d), 2))$p.value
grid <- expand.grid(a = c(0, 1, 3, 10, 50), b = c(0, 5, 97, 1000), c = c(0, 2, 7, 40),
                    d = c(0, 3, 60, 900))
big <- data.frame(
  a = c(1000, 12345, 100000, 500000, 20, 3, 0, 100000, 4000, 250000, 1),
  b = c(999000, 987655, 900000, 500000, 999980, 999997, 1000000, 0, 996000, 750000, 999999),
  c = c(30, 400, 10200, 499000, 3, 2, 5, 0, 40, 83000, 0),
  d = c(970, 9600, 89800, 501000, 7, 998, 1e6, 100000, 960, 250000, 2000000))
grid <- rbind(grid, big)
grid$p_value <- mapply(fisher, grid$a, grid$b, grid$c, grid$d)
grid$source <- paste(source_tag, "fisher.test two-sided")
write.csv(fmt(grid, c("a", "b", "c", "d"), "p_value"), "fisher_r.csv", row.names = FALSE,
          quote = FALSE)

attempts_corr <- function(p1, q, t) {
  if (p1 <= t * (1 + 1e-12)) return(1)
  if (q == 1) return(0)
  a <- 1; r <- p1
  while (r > t * (1 + 1e-12)) { r <- r * q; a <- a + 1 }
  a
}
upper_each <- function(k, n, c) if (n == 0 || k == n) 1 else qbeta((1 + c) / 2, k + 1, n - k)
exact_ci <- function(k, n, c) {
  if (n == 0) return(c(NaN, 0, 1))
  c(k / n, as.numeric(binom.test(k, n, conf.level = c)$conf.int))
}
chains <- data.frame(
  k1 = c(0, 0, 1, 5, 10, 37, 100, 100, 250, 3, 1000, 20),
  n1 = c(10, 1000, 100, 1000, 100, 5000, 1000, 10000, 1000, 1e6, 1e5, 20),
  kq = c(0, 0, 0, 2, 1, 20, 30, 5, 150, 1, 1000, 19),
  nq = c(0, 0, 1, 7, 11, 57, 130, 105, 400, 4, 2000, 39))
chains <- merge(chains, expand.grid(confidence = c(0.9, 0.95, 0.99), target = c(1e-6, 1e-3)))
out <- list()
for (i in seq_len(nrow(chains))) {
  r <- chains[i, ]
  p1 <- exact_ci(r$k1, r$n1, r$confidence)
  q <- exact_ci(r$kq, r$nq, r$confidence)
  p1u <- upper_each(r$k1, r$n1, r$confidence)
  qu <- upper_each(r$kq, r$nq, r$confidence)
  qpoint <- if (r$nq > 0) r$kq / r$nq else r$k1 / r$n1
  out[[i]] <- data.frame(r, p1_lower = p1[2], p1_upper = p1[3], q_lower = q[2], q_upper = q[3],
    p1_upper_each = p1u, q_upper_each = qu,
    fisher_p = fisher(r$k1, r$n1 - r$k1, r$kq, r$nq - r$kq),
    point = attempts_corr(r$k1 / r$n1, qpoint, r$target),
    conservative = attempts_corr(p1u, qu, r$target),
    source = paste(source_tag, "binom.test qbeta fisher.test"))
}
ch <- do.call(rbind, out)
write.csv(fmt(ch, c("k1", "n1", "kq", "nq", "point", "conservative"),
              c("confidence", "target", "p1_lower", "p1_upper", "q_lower", "q_upper",
                "p1_upper_each", "q_upper_each", "fisher_p")),
          "chain_r.csv", row.names = FALSE, quote = FALSE)
