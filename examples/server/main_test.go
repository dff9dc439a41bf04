package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/openkyc/kyc/examples/server/demo"
)

func TestMetricsFlagNamesTheOpenTelemetryBuild(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-metrics", "127.0.0.1:9464"},
		{"-addr", "127.0.0.1:0", "--metrics=127.0.0.1:9464", "-data", t.TempDir()},
	} {
		stderr, err := os.CreateTemp(t.TempDir(), "stderr")
		if err != nil {
			t.Fatal(err)
		}
		code := demo.ExitCode(demo.Run(context.Background(), args, os.Stdout, stderr, options()), stderr)
		stderr.Close()
		msg, _ := os.ReadFile(stderr.Name())
		if code != 2 || strings.Count(string(msg), "\n") != 1 || !strings.Contains(string(msg), metricsCommand) {
			t.Errorf("%q: exit code %d, stderr %q: want 2 and one line naming %q", args, code, msg, metricsCommand)
		}
	}
}
