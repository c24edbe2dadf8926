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
#          p = pnorm(z, lower.tail = FALSE); se = sqrt(1/n + z^2 / (2 (n - 1)));
#          q = qt((1 + c) / 2, n - 1); p_lower = pnorm(z + q se, lower.tail = FALSE),
#          p_upper = pnorm(z - q se, lower.tail = FALSE).
#          point = exp(mu + s qnorm(target, lower.tail = FALSE)); conservative: uniroot of
#          g(z) = z - q1 sqrt(1/n + z^2 / (2 (n - 1))) - qnorm(target, lower.tail = FALSE),
#          q1 = qt(c, n - 1), on [z_target, 1e6] (tol 1e-14), then exp(mu + s z); unreachable
#          (written inf) when 1 - q1^2 / (2 (n - 1)) <= 0.
# Datasets come from set.seed(20261122) with log-normal draws and are written out in full, so
# the C test reads the very numbers R used.
options(digits = 17)
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
    for (t in c(30, 90, 120, 180)) {
      for (target in c(0.01, 1e-6)) {
        z <- (log(t) - mu) / s
        se <- sqrt(1 / n + z^2 / (2 * (n - 1)))
        q <- qt((1 + c) / 2, n - 1)
        zt <- qnorm(target, lower.tail = FALSE)
        q1 <- qt(c, n - 1)
        cons <- Inf
        if (1 - q1^2 / (2 * (n - 1)) > 0) {
          g <- function(z) z - q1 * sqrt(1 / n + z^2 / (2 * (n - 1))) - zt
          r <- uniroot(g, c(zt, 1e6), tol = 1e-14)$root
          cons <- exp(mu + s * r)
        }
        timeout_rows <- c(timeout_rows, paste(fmt(x), num(c), num(t), num(target),
          num(pnorm(z, lower.tail = FALSE)), num(pnorm(z + q * se, lower.tail = FALSE)),
          num(pnorm(z - q * se, lower.tail = FALSE)), num(exp(mu + s * zt)),
          ifelse(is.finite(cons), num(cons), "inf"), "pnorm/qt/uniroot", sep = ","))
      }
    }
  }
}
writeLines(timeout_rows, "slowdown_timeout_r.csv")
