// Package consoletest drives the review console of the built demo server in
// headless Chromium (chromedp). It lives in its own module so that chromedp
// stays out of the root module's dependencies.
package consoletest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromium finds the browser: $OPENKYC_CHROMIUM, then the usual names.
// Locally a missing browser skips the test with a message; under CI (the
// CI variable set) it fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OPENKYC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but no Chromium was found: install Debian's chromium (apt-get install -y chromium) or set OPENKYC_CHROMIUM")
	}
	t.Skip("no Chromium found (apt-get install -y chromium, or set OPENKYC_CHROMIUM); the console end-to-end test is skipped locally, never in CI")
	return ""
}

// artefacts is where the screenshots go: $OPENKYC_CONSOLE_SCREENSHOTS, or a
// temporary directory.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OPENKYC_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// startServer builds examples/server and runs it on a fresh data directory
// with the demo data, returning its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "openkyc-demo")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./examples/server")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the demo server: %s", out)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-demo", "-log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`openkyc demo server at (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case base := <-found:
		return base
	case <-time.After(60 * time.Second):
		t.Fatal("the demo server did not print its address within a minute")
	}
	return ""
}

// TestConsoleEndToEnd: sign in, claim the passport case, open a document,
// reject one side with a reason, approve the other case, and see the grant
// in that client's history.
func TestConsoleEndToEnd(t *testing.T) {
	browser := chromium(t)
	shots := artefacts(t)
	base := startServer(t)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return err
			}
			path := filepath.Join(shots, name+".png")
			t.Logf("screenshot %s", path)
			return os.WriteFile(path, png, 0o644)
		})
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...), what)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "text of %s", sel)
		return strings.TrimSpace(s)
	}
	eval := func(expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		require.NoError(t, err, expr)
		return v
	}

	// Sign in: the console sends a visitor without a session to the login form.
	do("sign in",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		shot("01-login"),
		chromedp.SendKeys(chromedp.ID("token"), "demo-admin-token"),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS("table.queue")),
	)
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Contains(t, title, "Review queue")
	do("queue screenshot", shot("02-queue"))
	require.EqualValues(t, 2, eval(`document.querySelectorAll("table.queue tbody tr").length`), "the demo seeds two applications awaiting review")

	// Claim the passport case (application 2) from its case page.
	do("claim",
		chromedp.Click(chromedp.CSS(`a[href="/console/applications/2"]`)),
		chromedp.WaitVisible(chromedp.ID("claim")),
		chromedp.Click(chromedp.ID("claim")),
		chromedp.WaitVisible(chromedp.ID("approve-application")),
	)
	require.Contains(t, text("section[aria-labelledby=app-title]"), "Claimed by you")

	// The document sides load through their signed URLs; zoom and rotate
	// are CSS only.
	loaded, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll("figure.side img")).every(i => i.complete && i.naturalWidth > 0)`, chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err)
	require.True(t, loaded, "every document side renders")
	do("zoom and rotate",
		chromedp.Click(chromedp.CSS(`#side-front .zoom + label`)),
		chromedp.Click(chromedp.CSS(`#side-front .r90 + label`)),
		chromedp.Sleep(300*time.Millisecond),
		shot("03-case"),
	)
	require.NotEqual(t, "none", eval(`getComputedStyle(document.querySelector("#side-front img")).transform`), "zoom and rotation transform the image")

	// Open the front side on its own.
	caseURL, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	do("open a document",
		chromedp.Click(chromedp.CSS(`#side-front .view-controls a`)),
		chromedp.WaitReady(chromedp.CSS("img")),
		shot("04-document"),
	)
	require.Equal(t, "image/png", eval(`document.contentType`))
	do("back to the case", chromedp.Navigate(caseURL), chromedp.WaitVisible(chromedp.ID("side-front")))

	// Reject the front side: expired, with a note, retry allowed.
	do("reject a side",
		chromedp.SetValue(chromedp.CSS(`#side-front select.reason`), "expired"),
		chromedp.SendKeys(chromedp.CSS(`#side-front form.reject input[name=note]`), "expired in 2023"),
		chromedp.Click(chromedp.CSS(`#side-front button.reject-side`)),
		chromedp.WaitVisible(chromedp.CSS("form.confirm")),
		shot("05-confirm"),
		chromedp.Click(chromedp.CSS("form.confirm button")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
		shot("06-rejected"),
	)
	require.Equal(t, "rejected", text("#side-front .side-status"))
	require.Contains(t, text("#timeline"), "idDocument rejected by admin 1: Document expired: expired in 2023")

	// Approve the other case, claimed with "Claim next".
	do("approve the other case",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("claim-next")),
		chromedp.Click(chromedp.ID("claim-next")),
		chromedp.WaitVisible(chromedp.ID("approve-application")),
		chromedp.Click(chromedp.ID("approve-application")),
		chromedp.WaitVisible(chromedp.CSS("form.confirm")),
		chromedp.Click(chromedp.CSS("form.confirm button")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
		shot("07-approved"),
	)
	require.Equal(t, "approved", text("#app-status"))
	require.Equal(t, "Level 1", text("#subject-level"))
	history := text("#timeline")
	require.Contains(t, history, "Level 0 → Level 1 (Application: 1) by admin 1", "the grant is in the client's history")
	require.Contains(t, history, "Application 1 for Level 1 claimed by admin 1")

	do("deliveries", chromedp.Navigate(base+"/console/deliveries"), chromedp.WaitVisible(chromedp.CSS("main table")))
	require.Contains(t, text("main"), "dead-lettered", fmt.Sprintf("the deliveries page of %s", base))
}
