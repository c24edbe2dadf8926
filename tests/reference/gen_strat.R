# Reference values for the stratified (Cochran-Mantel-Haenszel) tests (stats/fm_stats_strat.c):
#   Rscript tests/reference/gen_strat.R > tests/reference/strat_r.csv
# Generated with R 4.2.2 (Debian r-base-core 4.2.2.20221110-2), package stats only.
# Each row is a 2 x C x K table: k failures and n runs, stratum-major ("s1c1;s1c2;...;s2c1;...").
#   cmh_stat, cmh_df, cmh_p  mantelhaen.test(x, correct = FALSE) on the C x 2 x K array
#                            (rows: conditions; columns: failed, passed; layers: strata)
#   exact_p                  C = 2: mantelhaen.test(x, exact = TRUE)$p.value; NA otherwise
#   odds_ratio               C = 2: mantelhaen.test(x, correct = FALSE)$estimate (Mantel-Haenszel)
#   trend_z                  the CMH correlation statistic along score, from the matrix form
#                            s' d / sqrt(s' V s) over the full C-vector (not fm's closed form)
# Every stratum has at least 2 runs (mantelhaen.test refuses smaller ones).
options(digits = 17, warn = -1)
set.seed(20261126)
cases <- list(
  list(C = 2, K = 2, k = c(3, 7, 2, 8), n = c(20, 20, 20, 20), s = c(1, 2)),
  list(C = 2, K = 3, k = c(0, 5, 1, 6, 0, 4), n = c(10, 10, 10, 10, 10, 10), s = c(1, 2)),
  list(C = 2, K = 4, k = c(1, 1, 5, 5, 9, 9, 2, 2), n = rep(10, 8), s = c(1, 2)),
  list(C = 2, K = 2, k = c(0, 0, 10, 3), n = c(10, 10, 10, 10), s = c(1, 2)),
  list(C = 2, K = 5, k = c(12, 30, 8, 25, 40, 45, 2, 9, 20, 33), n = rep(50, 10), s = c(1, 2)),
  list(C = 3, K = 2, k = c(1, 4, 9, 2, 5, 8), n = rep(10, 6), s = c(1, 2, 3)),
  list(C = 3, K = 3, k = c(5, 5, 5, 1, 2, 3, 8, 6, 9), n = c(10, 10, 10, 10, 10, 10, 10, 10, 10), s = c(0, 1, 4)),
  list(C = 4, K = 2, k = c(2, 3, 4, 9, 1, 1, 0, 7), n = c(12, 15, 10, 20, 9, 11, 14, 16), s = c(1, 2, 4, 8))
)
for (i in 1:24) {
  C <- sample(2:4, 1)
  K <- sample(1:8, 1)
  n <- sample(c(2:30, 50, 100), C * K, replace = TRUE)
  drift <- runif(K, 0.02, 0.8)
  eff <- runif(C, 0.6, 1.4) * (runif(1) < 0.5)
  eff[eff == 0] <- 1
  p <- pmin(rep(drift, each = C) * rep(eff, K), 1)
  cases[[length(cases) + 1]] <- list(C = C, K = K, k = rbinom(C * K, n, p), n = n, s = sort(sample(0:10, C)))
}
join <- function(v) paste(format(v, digits = 17, scientific = FALSE, trim = TRUE), collapse = ";")
num <- function(v) if (is.na(v)) "nan" else format(v, digits = 17)
cat("cols,strata,k,n,score,cmh_stat,cmh_df,cmh_p,exact_p,odds_ratio,trend_z\n")
for (cs in cases) {
  C <- cs$C; K <- cs$K
  x <- array(0, dim = c(C, 2, K))
  for (s in 1:K) for (j in 1:C) {
    idx <- (s - 1) * C + j
    x[j, 1, s] <- cs$k[idx]
    x[j, 2, s] <- cs$n[idx] - cs$k[idx]
  }
  informative <- sum(sapply(1:K, function(s) { f <- sum(x[, 1, s]); m <- sum(x[, , s]); f > 0 && f < m && sum(rowSums(x[, , s]) > 0) >= 2 }))
  if (informative == 0) next
  mt <- tryCatch(mantelhaen.test(x, correct = FALSE), error = function(e) NULL)
  if (is.null(mt) || !is.finite(mt$statistic)) next
  ex <- NA; or <- NA
  if (C == 2) {
    ex <- mantelhaen.test(x, exact = TRUE)$p.value
    or <- unname(mt$estimate)
  }
  d <- rep(0, C); V <- matrix(0, C, C)
  for (s in 1:K) {
    t <- rowSums(x[, , s]); N <- sum(t); f <- sum(x[, 1, s])
    if (N < 2) next
    d <- d + x[, 1, s] - f * t / N
    V <- V + f * (N - f) / (N^2 * (N - 1)) * (N * diag(t, nrow = C) - t %o% t)
  }
  tv <- drop(t(cs$s) %*% V %*% cs$s)
  tz <- if (tv > 0) sum(cs$s * d) / sqrt(tv) else NA
  cat(C, K, join(cs$k), join(cs$n), join(cs$s), num(unname(mt$statistic)), num(unname(mt$parameter)),
      num(mt$p.value), num(ex), num(or), num(tz), sep = ",")
  cat("\n")
}
