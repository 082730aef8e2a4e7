// Package browsertest drives Debian's chromium-headless-shell with
// chromedp for the tests of lokero's pages: it finds the browser (skipping
// the test without it, failing it when CI=true), opens a tab for a test,
// and writes screenshots where a person can look at them.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Find returns the path of chromium-headless-shell. Without it the test
// is skipped, or fails when the environment variable CI is "true" (in CI
// nothing may be skipped).
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium-headless-shell not found (apt-get install --no-install-recommends chromium-headless-shell)")
	}
	t.Skip("chromium-headless-shell not found (apt-get install --no-install-recommends chromium-headless-shell)")
	return ""
}

// New starts a browser for the test and returns a tab's context, which
// ends with the test (or after timeout). Each call is a browser of its
// own: tests do not share cookies or storage.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Find(t)),
		chromedp.NoSandbox, // as root in a container
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, for as long as ctx lasts
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// ScreenshotDir is where Screenshots writes: $LOKERO_SCREENSHOTS, or
// screenshots/ at the module's root (not committed: .gitignore).
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LOKERO_SCREENSHOTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "screenshots")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "screenshots")
		}
	}
}

// overflowJS lists what sticks out past the right edge of the viewport
// (a page a phone would scroll sideways): the deepest such elements, by
// tag, id and class, "" when nothing does.
const overflowJS = `(() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w) return "";
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= w + 0.5) continue;
    if ([...el.children].some(c => c.getBoundingClientRect().right > w + 0.5)) continue;
    out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.classList.length ? "." + [...el.classList].join(".") : "") + " to " + Math.round(r.right) + " px");
    if (out.length === 5) break;
  }
  return "the page is " + document.documentElement.scrollWidth + " px wide in " + w + ": " + out.join(", ");
})()`

// Screenshots writes full-page PNGs of the tab's page at 360 and 1280 px
// wide, as NAME-360.png and NAME-1280.png, and puts the tab back at
// 1280 px. It fails t when the page is wider than the viewport at either
// width (a phone would scroll it sideways), naming what sticks out.
func Screenshots(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := ScreenshotDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{360, 1280} {
		if err := chromedp.Do(ctx,
			chromedp.EmulateViewport(width, 800),
			chromedp.Sleep(150*time.Millisecond), // the layout settles
		); err != nil {
			t.Fatalf("screenshot %s at %d px: %v", name, width, err)
		}
		if over, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil {
			t.Fatalf("screenshot %s at %d px: measure the page: %v", name, width, err)
		} else if over != "" {
			t.Errorf("screenshot %s at %d px: %s", name, width, over)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s at %d px: %v", name, width, err)
		}
		file := filepath.Join(dir, name+"-"+strconv.FormatInt(width, 10)+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}
