args <- as.numeric(commandArgs(TRUE)); n <- args[1]; p1 <- args[2]; p2 <- args[3]; alpha <- 1e-3
d1 <- dbinom(0:n, n, p1); d2 <- dbinom(0:n, n, p2)
fail <- 0
for (x1 in 0:n) { if (d1[x1+1] < 1e-30) next
  for (x2 in 0:n) { w <- d1[x1+1]*d2[x2+1]; if (w < 1e-30) next
    ok <- x1 > x2 && fisher.test(matrix(c(x1, n-x1, x2, n-x2), 2))$p.value < alpha
    if (!ok) fail <- fail + w } }
cat(sprintf("n=%d p1=%.2f p2=%.2f alpha=%g: P(test fails) = %.3g\n", n, p1, p2, alpha, fail))
