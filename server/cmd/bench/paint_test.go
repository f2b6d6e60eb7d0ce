package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/placard/placard/server/internal/browsertest"
)

// TestFirstPaintStageMeasuresTwoPages runs the first-paint stage's
// measurement once, short, with the bare go-app page on both sides (the
// stage's placard side needs `make build`): the baseline builds, serves
// and loads in Chromium, and every row of the table gets a value.
func TestFirstPaintStageMeasuresTwoPages(t *testing.T) {
	if _, err := browsertest.Chromium(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the first-paint stage needs Chromium: %v", err)
		}
		t.Skipf("the first-paint stage needs Chromium: %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	bare, err := buildBarePage(ctx, filepath.Join(dir, "barepage"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := startBarePage(bare)
	if err != nil {
		t.Fatal(err)
	}
	defer b.stop()
	page := func(int) string { return b.url + "/" }
	ours, theirs, err := comparePaint(ctx, dir, 1, page, page)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	reportPaint(&res, ours, theirs)
	want := map[string]bool{}
	for _, r := range res.Rows {
		want[r.Metric] = true
		if r.Placard == nil || r.Baseline == nil {
			t.Errorf("%s: no value", r.Metric)
			continue
		}
		switch {
		case strings.Contains(r.Metric, "reload"):
			// go-app's own service worker serves its Wasm from its cache.
			if *r.Placard != 0 || *r.Baseline != 0 {
				t.Errorf("%s: %v and %v MB, want 0", r.Metric, *r.Placard, *r.Baseline)
			}
		case strings.HasPrefix(r.Metric, "Wasm"):
			// go-app's handler sends app.wasm as it is: over 1 MB.
			if *r.Placard < 1 || *r.Baseline < 1 {
				t.Errorf("%s: %v and %v MB, want the whole app.wasm", r.Metric, *r.Placard, *r.Baseline)
			}
		case *r.Placard <= 0 || *r.Baseline <= 0 || r.Ratio == nil:
			t.Errorf("%s: %v and %v ms, ratio %v", r.Metric, *r.Placard, *r.Baseline, r.Ratio)
		}
	}
	for _, m := range []string{
		"first contentful paint, median of 1", "user code visible, p90",
		"first contentful paint at 4× CPU throttle, median of 1", "user code visible at 4× CPU throttle, p90",
		"Wasm received on a first load", "Wasm received on a reload",
	} {
		if !want[m] {
			t.Errorf("no row %q", m)
		}
	}
}
