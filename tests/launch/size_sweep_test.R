# Sizing of test_sweep.py's stress_recurse check (cpus=2 against cpus=1), exactly:
#   Rscript tests/launch/size_sweep_test.R N P_HIGH P_LOW
# The check passes when fisher.test on the 2x2 table of failures (N runs each) gives p < 1e-3
# and the cell expected to fail more (cpus=2, rate P_HIGH) has more failures than the other
# (cpus=1, rate P_LOW).  The probability that it fails is the sum, over both binomial outcomes
# x1 ~ Bin(N, P_HIGH) and x2 ~ Bin(N, P_LOW), of P(x1) P(x2) [check fails] (terms below 1e-30
# skipped: they add less than 1e-25 in all).  R 4.2.2:
#   3000 0.12 0.06 -> 4.72e-07  (the bound the test relies on; 86 s to compute)
#   1000 0.12 0.06 -> 0.0841    (why 1000 runs were too few: one sweep measured 138 vs 50)
#   1000 0.25 0.08 -> 1.67e-13
args <- as.numeric(commandArgs(TRUE)); n <- args[1]; p1 <- args[2]; p2 <- args[3]
alpha <- 1e-3
d1 <- dbinom(0:n, n, p1); d2 <- dbinom(0:n, n, p2)
fail <- 0
for (x1 in 0:n) { if (d1[x1+1] < 1e-30) next
  for (x2 in 0:n) { w <- d1[x1+1]*d2[x2+1]; if (w < 1e-30) next
    ok <- x1 > x2 && fisher.test(matrix(c(x1, n-x1, x2, n-x2), 2))$p.value < alpha
    if (!ok) fail <- fail + w } }
cat(sprintf("n=%d p_high=%.2f p_low=%.2f alpha=%g: P(test fails) = %.3g\n", n, p1, p2, alpha,
            fail))
