// Command server is the openkyc demo server (examples/server: the same
// flags, data and walkthrough) with OpenTelemetry metrics: -metrics ADDR
// serves them at http://ADDR/metrics in the Prometheus text format,
// through the OpenTelemetry Prometheus exporter. From the repository root:
//
//	cd contrib/otelkyc && go run ./examples/server -metrics 127.0.0.1:9464
//	curl -s http://127.0.0.1:9464/metrics | grep openkyc_
//
// Without -metrics it is the plain demo. Traces go to the global
// TracerProvider, a no-op here: a host wires its own exporter into
// otelkyc.Options.TracerProvider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/openkyc/kyc/contrib/otelkyc"
	"github.com/openkyc/kyc/examples/server/demo"
	"github.com/openkyc/kyc/verification"
)

func main() {
	os.Exit(demo.Main(os.Args[1:], options()))
}

// options extend the demo with -metrics.
func options() demo.Options {
	var addr string
	return demo.Options{
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (OpenTelemetry Prometheus exporter)")
		},
		Observe: func(context.Context) (demo.Observers, error) {
			if addr == "" {
				return demo.Observers{}, nil
			}
			return metrics(addr)
		},
	}
}

// metrics builds the Observer recording to a Prometheus registry and the
// start hook serving it on addr.
func metrics(addr string) (demo.Observers, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return demo.Observers{}, fmt.Errorf("-metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	obs, err := otelkyc.New(otelkyc.Options{MeterProvider: mp})
	if err != nil {
		return demo.Observers{}, err
	}
	started := func(ctx context.Context, svc *verification.Service, stdout io.Writer) (func(), error) {
		gauges, err := obs.ObserveQueue(svc)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("-metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "metrics server:", err)
			}
		}()
		fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", ln.Addr())
		return func() {
			shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
			<-done
			_ = gauges.Unregister()
			_ = mp.Shutdown(shutdown)
		}, nil
	}
	return demo.Observers{Service: obs, HTTP: obs, Started: started}, nil
}
