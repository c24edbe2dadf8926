# Reference values for the homogeneity and trend tests (stats/fm_stats_homog.c):
#   Rscript tests/reference/gen_homog.R > tests/reference/homog_r.csv
# Each row is a 2xK table: failures k_i of runs n_i under K conditions with scores s_i.
#   ffh_p       fisher.test on the 2xK table (network algorithm FEXACT; the hypergeometric for K = 2)
#   chisq_stat, chisq_p   chisq.test(correct = FALSE): Pearson, K-1 df, no continuity correction
#   trend_stat, trend_p   prop.trend.test(k, n, score): Cochran-Armitage chi-square, 1 df
# Tables come from a fixed list (zeros, ties, extremes) and seeded random draws.
options(digits = 17, warn = -1)
set.seed(20261122)
tables <- list(
  list(k = c(0, 5), n = c(10, 10), s = c(1, 2)),
  list(k = c(3, 3), n = c(10, 10), s = c(1, 2)),
  list(k = c(0, 180), n = c(200, 200), s = c(1, 2)),
  list(k = c(1, 2, 3), n = c(10, 10, 10), s = c(1, 2, 3)),
  list(k = c(2, 2, 2, 2), n = c(20, 20, 20, 20), s = c(0, 1, 2, 3)),
  list(k = c(0, 0, 1, 9), n = c(10, 10, 10, 10), s = c(1, 2, 4, 8)),
  list(k = c(5, 0, 5), n = c(5, 5, 5), s = c(1, 2, 3)),
  list(k = c(0, 3, 0, 4, 1), n = c(7, 9, 11, 6, 8), s = c(1, 2, 3, 4, 5)),
  list(k = c(12, 15, 9, 30), n = c(100, 100, 100, 100), s = c(2, 4, 8, 16)),
  list(k = c(0, 0, 350, 340), n = c(400, 400, 400, 400), s = c(1, 1, 2, 2)),
  list(k = c(1, 0, 0), n = c(50, 50, 50), s = c(1, 2, 3)),
  list(k = c(30, 28), n = c(400, 390), s = c(0, 2))
)
for (i in 1:28) {
  K <- sample(2:6, 1)
  n <- sample(c(5:40, 50, 100, 200), K, replace = TRUE)
  p <- runif(1, 0.01, 0.5) * runif(K, 0.5, 1.5)
  tables[[length(tables) + 1]] <- list(k = rbinom(K, n, pmin(p, 1)), n = n, s = sort(sample(0:10, K)))
}
join <- function(v) paste(format(v, digits = 17, scientific = FALSE, trim = TRUE), collapse = ";")
cat("k,n,score,ffh_p,chisq_stat,chisq_p,trend_stat,trend_p\n")
for (t in tables) {
  m <- rbind(t$k, t$n - t$k)
  ffh <- fisher.test(m, workspace = 2e8)$p.value
  cs <- chisq.test(m, correct = FALSE)
  tr <- prop.trend.test(t$k, t$n, t$s)
  num <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "NaN")
  cat(join(t$k), join(t$n), join(t$s), num(ffh), num(cs$statistic), num(cs$p.value),
      num(tr$statistic), num(tr$p.value), sep = ",")
  cat("\n")
}
cat(sprintf("# %s\n", R.version.string))
