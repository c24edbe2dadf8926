# Reference values for `flakemeter tests`, computed in R independently of flakemeter's C code
# from the outcome strings in history_outcomes.csv (40 CI runs per test, in time order).
# Run:  cd tests/reference && Rscript gen_history.R      (writes history_r.csv)
# Produced with R 4.2.2 (Debian r-base-core 4.2.2.20221110-2).
#
# Two suites are built from the same strings: "norev" (no revision known) and "rev" (CI runs
# 2j and 2j+1 tested the same commit j).  A "-" means the test did not run in that CI run (it is
# left out of the test's history).  Per test:
#   runs             CI runs in which it ran
#   failures         runs whose first attempt failed (first letter not P)
#   passed_on_retry  first attempt failed, last attempt passed
#   red              runs whose last attempt failed (last letter not P)
#   estimate, lower, upper   failures/runs and stats::binom.test(failures, runs)$conf.int (0.95)
#   flip_rate        mean(first outcome differs from the previous run's), NA with one run
#                    (Kowalczyk et al., ICSE-SEIP 2020)
#   class, evidence  the rules of docs/statistics.md sec. 7, written here from the text:
#                    mixed run > same revision > >= 2 failure stretches > never passed >
#                    failing stretch at the end > one stretch (fixed) > never failed
#   red_share        red / 40 (every suite has 40 CI runs)
options(digits = 17)
h <- read.csv("history_outcomes.csv", comment.char = "#", stringsAsFactors = FALSE)
rows <- list()
for (suite in c("norev", "rev")) {
  for (i in seq_len(nrow(h))) {
    tok <- strsplit(h$outcomes[i], " ")[[1]]
    ran <- which(tok != "-")
    tok <- tok[ran]
    first <- substr(tok, 1, 1) != "P"
    last <- substr(tok, nchar(tok), nchar(tok)) != "P"
    n <- length(tok)
    k <- sum(first)
    ci <- binom.test(k, n, conf.level = 0.95)$conf.int
    flip <- if (n >= 2) sum(diff(first) != 0) / (n - 1) else NA
    r <- rle(first)
    stretches <- sum(r$values)
    last_stretch <- if (first[n]) r$lengths[length(r$lengths)] else 0
    same_rev <- 0
    if (suite == "rev") {
      rev <- (ran - 1) %/% 2
      for (v in unique(rev)) {
        o <- first[rev == v]
        if (any(o) && any(!o)) same_rev <- same_rev + 1
      }
    }
    mixed <- sum(first != last)
    ev <- if (mixed > 0) "mixed_run" else if (same_rev > 0) "same_revision" else
      if (stretches >= 2) "intermittent" else if (k == n) "never_passed" else
      if (last_stretch > 0) "broken" else if (stretches == 1) "fixed" else "never_failed"
    cls <- switch(ev, mixed_run = , same_revision = , intermittent = "flaky",
                  never_passed = , broken = "failing", "stable")
    rows[[length(rows) + 1]] <- data.frame(
      suite = suite, test = h$test[i], runs = n, failures = k,
      passed_on_retry = sum(first & !last), red = sum(last), estimate = k / n,
      lower = ci[1], upper = ci[2], flip_rate = flip, class = cls, evidence = ev,
      red_share = sum(last) / 40)
  }
}
out <- do.call(rbind, rows)
for (col in c("estimate", "lower", "upper", "flip_rate", "red_share"))
  out[[col]] <- ifelse(is.na(out[[col]]), "NA", sprintf("%.17g", out[[col]]))
con <- file("history_r.csv", "w")
writeLines(sprintf("# gen_history.R with R %s: per-test statistics of history_outcomes.csv",
                   getRversion()), con)
write.csv(out, con, row.names = FALSE, quote = FALSE)
close(con)
