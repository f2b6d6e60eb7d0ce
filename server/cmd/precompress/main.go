// Command precompress writes the brotli (.br) and gzip (.gz) forms of
// files, so that the edge server serves app.wasm compressed without
// compressing it on every request. Pure Go: a build needs nothing but Go.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	level := flag.Int("brotli", brotli.BestCompression, "brotli quality, 0-11")
	out := flag.String("out", "", "directory to write the .br and .gz files to; beside each file when empty")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: precompress [-brotli N] [-out DIR] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, name := range flag.Args() {
		if err := compress(name, *out, *level); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}

func compress(name, out string, level int) error {
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	var br bytes.Buffer
	w := brotli.NewWriterLevel(&br, level)
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("brotli %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("brotli %s: %w", name, err)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(raw); err != nil {
		return fmt.Errorf("gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip %s: %w", name, err)
	}
	// Write next to the file, atomically, so that a failed build never
	// leaves a truncated .br that a server would embed.
	dest := name
	if out != "" {
		dest = filepath.Join(out, filepath.Base(name))
	}
	for ext, b := range map[string][]byte{".br": br.Bytes(), ".gz": gz.Bytes()} {
		tmp := dest + ext + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, dest+ext); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d bytes, brotli %d, gzip %d\n", name, len(raw), br.Len(), gz.Len())
	return nil
}
