# Sizing of test_sweep.py's stress_recurse check (cpus=1 against cpus=2), exactly:
#   Rscript tests/runner/size_sweep_test.R N P1 P2
# The check passes when fisher.test on the 2x2 table of failures (N runs each) gives p < 1e-3
# and the cpus=1 cell has more failures.  The probability that it fails is the sum, over both
# binomial outcomes x1 ~ Bin(N, P1) and x2 ~ Bin(N, P2), of P(x1) P(x2) [check fails]
# (terms below 1e-30 skipped: they add less than 1e-25 in all).  R 4.2.2:
#   600 0.20 0.03 -> 8.94e-12   (the idle machine: measured 27-42 % against 0-0.5 %)
#   600 0.45 0.25 -> 3.24e-05   (a machine loaded by other builds moves both rates)
#   400 0.15 0.03 -> 1.85e-03
args <- as.numeric(commandArgs(TRUE)); n <- args[1]; p1 <- args[2]; p2 <- args[3]
alpha <- 1e-3
d1 <- dbinom(0:n, n, p1); d2 <- dbinom(0:n, n, p2)
fail <- 0
for (x1 in 0:n) { if (d1[x1+1] < 1e-30) next
  for (x2 in 0:n) { w <- d1[x1+1]*d2[x2+1]; if (w < 1e-30) next
    ok <- x1 > x2 && fisher.test(matrix(c(x1, n-x1, x2, n-x2), 2))$p.value < alpha
    if (!ok) fail <- fail + w } }
cat(sprintf("n=%d p1=%.2f p2=%.2f alpha=%g: P(test fails) = %.3g\n", n, p1, p2, alpha, fail))
