# Reference values for the emulator slowdown ratio and the log-normal timeout prediction,
# computed in R independently of flakemeter's C code (GSL's t quantiles and a closed-form root
# there; R's t.test, qt, pnorm and uniroot here).
# Run:  cd tests/reference && Rscript gen_slowdown.R   (writes slowdown_ratio_r.csv and
#       slowdown_timeout_r.csv)
# Produced with R 4.2.2 (Debian r-base-core 4.2.2.20221110-2).
#
# ratio:   the paired log-scale t interval: t.test(log(numer / denom), conf.level = c), whose
#          mean and conf.int are exponentiated.  numer and denom are written with 17 digits.
# timeout: fit mu = mean(log x), s = sd(log x) (n - 1 denominator); z = (log(t) - mu) / s;
#          p = pnorm(z, lower.tail = FALSE); tstar = sqrt(n) z; the noncentralities d with
#          pt(tstar, n - 1, ncp = d) = 1 - alpha/2 and = alpha/2 (uniroot, tol 1e-13) give
#          p_lower = pnorm(d_hi / sqrt(n), lower.tail = FALSE) and p_upper from d_lo;
#          point = exp(mu + s qnorm(target, lower.tail = FALSE));
#          conservative = exp(mu + s qt(c, n - 1, ncp = sqrt(n) qnorm(target, lower.tail = FALSE))
#          / sqrt(n)).  R's pt/qt with ncp use AS 243 (Lenth 1989), accurate for |ncp| <= 37.62:
#          roots are searched in [-37.6, 37.6] and a case is kept only when every
#          noncentrality it involves is within 30.
# Datasets come from set.seed(20261122) with log-normal draws and are written out in full, so
# the C test reads the very numbers R used.
options(digits = 17, warn = -1)  # pt's precision warnings: see the 37.6 bound above
set.seed(20261122)
fmt <- function(v) paste(trimws(formatC(v, digits = 17, format = "g")), collapse = ";")
num <- function(x) trimws(formatC(x, digits = 17, format = "g"))

ratio_rows <- c("numer,denom,c,ratio,lower,upper,source")
for (n in c(2, 3, 5, 10, 40)) {
  for (c in c(0.9, 0.95, 0.99)) {
    denom <- exp(rnorm(n, log(0.02), 0.2))
    numer <- denom * exp(rnorm(n, log(40), 0.3))
    tt <- t.test(log(numer / denom), conf.level = c)
    ratio_rows <- c(ratio_rows, paste(fmt(numer), fmt(denom), num(c), num(exp(unname(tt$estimate))),
                                      num(exp(tt$conf.int[1])), num(exp(tt$conf.int[2])),
                                      "t.test", sep = ","))
  }
}
writeLines(ratio_rows, "slowdown_ratio_r.csv")

timeout_rows <- c("x,c,t,target,p,p_lower,p_upper,point,conservative,source")
for (n in c(2, 3, 5, 10, 40)) {
  x <- exp(rnorm(n, log(60), 0.25))
  mu <- mean(log(x)); s <- sd(log(x))
  for (c in c(0.9, 0.95)) {
    for (t in c(45, 75, 120, 180)) {
      for (target in c(0.01, 1e-6)) {
        z <- (log(t) - mu) / s
        ts <- sqrt(n) * z
        a <- (1 - c) / 2
        f <- function(d, level) pt(ts, n - 1, ncp = d) - level
        root <- function(level) tryCatch(uniroot(f, c(-37.6, 37.6), level = level,
                                                 tol = 1e-13)$root, error = function(e) Inf)
        d_lo <- root(1 - a)
        d_hi <- root(a)
        zt <- qnorm(target, lower.tail = FALSE)
        if (max(abs(c(d_lo, d_hi, sqrt(n) * zt))) > 30) next  # keep to where pt is accurate
        k <- qt(c, n - 1, ncp = sqrt(n) * zt) / sqrt(n)
        timeout_rows <- c(timeout_rows, paste(fmt(x), num(c), num(t), num(target),
          num(pnorm(z, lower.tail = FALSE)), num(pnorm(d_hi / sqrt(n), lower.tail = FALSE)),
          num(pnorm(d_lo / sqrt(n), lower.tail = FALSE)), num(exp(mu + s * zt)),
          num(exp(mu + s * k)), "pt/qt/uniroot", sep = ","))
      }
    }
  }
}
writeLines(timeout_rows, "slowdown_timeout_r.csv")
