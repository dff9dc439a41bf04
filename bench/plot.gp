# gnuplot script of bench/plot.sh: reads tmp/*.dat, writes out/*.png.
# Variables: tmp, out (directories), plain (plain-POST events/s or 0).
set terminal pngcairo size 900,540 noenhanced font ",11"
set grid
set key outside right top
set style data linespoints

nonempty(f) = system("test -s " . f . " && echo 1 || echo 0") eq "1"

# Page latency against offset.
set output out . "/grant-pages.png"
set title "One page of 10 grants, newest first, against offset"
set xlabel "offset (0 drawn at 1)"
set ylabel "latency per page (µs, log scale)"
set logscale x
set logscale y
set format x "%.0s%c"
plots = ""
do for [s in "sqlite postgres"] {
  do for [l in "all client tag"] {
    f = tmp . "/g-" . s . "-" . l . ".dat"
    if (nonempty(f)) { plots = plots . sprintf("'%s' using 1:2 title '%s, %s', ", f, s, l) }
  }
}
if (strlen(plots) > 0) { eval "plot " . plots[1:strlen(plots)-2] }
unset logscale x
unset logscale y
set format x "%g"
set yrange [0:*]

# Status latency against the number of requirements.
set output out . "/status-requirements.png"
set title "Status route (handler, in process) against the ladder's size"
set xlabel "requirements in the ladder (half of them answered)"
set ylabel "latency per request (µs)"
set logscale x 2
set xtics (6, 24, 96, 384)
plots = ""
do for [s in "memory sqlite postgres"] {
  f = tmp . "/s-" . s . ".dat"
  if (nonempty(f)) { plots = plots . sprintf("'%s' using 1:2 title '%s', ", f, s) }
}
if (strlen(plots) > 0) { eval "plot " . plots[1:strlen(plots)-2] }
unset logscale x
set xtics autofreq

# Dispatch rate against backlog.
set output out . "/dispatch-backlog.png"
set title "Events delivered per second to a local webhook receiver, against backlog"
set xlabel "events pending"
set ylabel "events/s"
set logscale x
set format x "%.0s%c"
plots = ""
do for [s in "memory sqlite postgres"] {
  f = tmp . "/d-" . s . ".dat"
  if (nonempty(f)) { plots = plots . sprintf("'%s' using 1:2 title 'dispatcher, %s', ", f, s) }
}
if (plain + 0 > 0) { plots = plots . sprintf("%s title 'plain loop of POSTs' with lines dt 2 lw 2, ", plain) }
if (strlen(plots) > 0) { eval "plot " . plots[1:strlen(plots)-2] }

# Dispatch rate as a ratio to the plain loop of POSTs measured right before
# each point (x-plain), against backlog.
set output out . "/dispatch-ratio.png"
set title "Dispatcher rate / plain loop of POSTs measured just before, against backlog"
set ylabel "x plain loop"
set yrange [0:*]
plots = ""
do for [s in "memory sqlite postgres"] {
  f = tmp . "/d-" . s . ".dat"
  if (nonempty(f)) { plots = plots . sprintf("'%s' using 1:($3 > 0 ? $3 : NaN) title 'dispatcher, %s', ", f, s) }
}
plots = plots . "0.5 title 'target 0.5x' with lines dt 2 lw 2, "
if (strlen(plots) > 0) { eval "plot " . plots[1:strlen(plots)-2] }

# Claim latency against pending deliveries.
set output out . "/claim-backlog.png"
set title "One ClaimDeliveries (limit 8) against deliveries pending"
set xlabel "deliveries pending"
set ylabel "latency per claim (µs, log scale)"
set logscale y
set yrange [*:*]
plots = ""
do for [s in "memory sqlite postgres"] {
  f = tmp . "/c-" . s . ".dat"
  if (nonempty(f)) { plots = plots . sprintf("'%s' using 1:2 title '%s', ", f, s) }
}
if (strlen(plots) > 0) { eval "plot " . plots[1:strlen(plots)-2] }
