# Reference values for the regression alarm (flakemeter check), computed in R independently of
# flakemeter's C code (which walks hypergeometric ratios from the mode in log space).
# Run:  cd tests/reference && Rscript gen_alarm.R      (writes fisher_greater_r.csv, holm_r.csv)
# Produced with R 4.2.2 (Debian r-base-core 4.2.2.20221110-2).
#
# fisher_greater: table [[a, b], [c, d]] (rows recent / baseline, columns failed / passed):
#   p_value = stats::fisher.test(matrix(c(a, c, b, d), 2), alternative = "greater")$p.value,
#             i.e. P(X >= a) for the top-left cell under the hypergeometric law;
#   min_p   = dhyper(min(a + b, a + c), a + c, b + d, a + b): the smallest p-value the margins
#             allow (1 when the margins leave one table).
# holm: stats::p.adjust(p, method = "holm") for seeded uniform and tied p-value vectors.
options(digits = 17)
tag <- paste0("R ", getRversion())

grid <- expand.grid(a = c(0, 1, 2, 5, 15), b = c(0, 1, 10, 45, 300),
                    c = c(0, 1, 3, 20), d = c(0, 1, 50, 197, 2000))
extra <- data.frame(a = c(15, 30, 1, 0, 3, 100, 2000, 50, 7, 1, 12),
                    b = c(35, 70, 9999, 500, 0, 900, 98000, 450, 13, 0, 0),
                    c = c(2, 3, 10, 10, 3, 1000, 1000, 5, 7, 0, 0),
                    d = c(198, 997, 990000, 490, 0, 9000, 99000, 9995, 13, 1, 8))
g <- rbind(grid, extra)
pv <- mapply(function(a, b, c, d) {
  fisher.test(matrix(c(a, c, b, d), 2), alternative = "greater")$p.value
}, g$a, g$b, g$c, g$d)
minp <- mapply(function(a, b, c, d) {
  m <- a + c; n <- b + d; k <- a + b
  lo <- max(0, k - n); hi <- min(k, m)
  if (lo == hi) 1 else dhyper(hi, m, n, k)
}, g$a, g$b, g$c, g$d)
out <- data.frame(a = sprintf("%.0f", g$a), b = sprintf("%.0f", g$b),
                  c = sprintf("%.0f", g$c), d = sprintf("%.0f", g$d),
                  p_value = sprintf("%.17g", pv), min_p = sprintf("%.17g", minp),
                  source = paste(tag, "fisher.test greater + dhyper"))
write.csv(out, "fisher_greater_r.csv", row.names = FALSE, quote = FALSE)

set.seed(20261122)
rows <- list()
vecs <- list(runif(1), runif(5), runif(12) / 20, c(0.01, 0.04, 0.03, 0.005),
             c(0.02, 0.02, 0.02, 0.5, 1), c(0, 0.001, 0.2, 0.2, 0.049), runif(30)^4)
for (v in seq_along(vecs)) {
  p <- vecs[[v]]
  adj <- p.adjust(p, method = "holm")
  rows[[v]] <- data.frame(vector = v, index = seq_along(p) - 1,
                          p = sprintf("%.17g", p), adjusted = sprintf("%.17g", adj),
                          source = paste(tag, "p.adjust holm"))
}
write.csv(do.call(rbind, rows), "holm_r.csv", row.names = FALSE, quote = FALSE)
