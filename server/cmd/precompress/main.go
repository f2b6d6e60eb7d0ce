// Command precompress writes the brotli form (.br) of files, and each
// file's length (.size, which brotli's format does not record), so that
// the edge server serves app.wasm compressed without compressing it on
// every request. The server makes any other form it needs from the brotli
// one. Pure Go: a build needs nothing but Go.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/andybalholm/brotli"
)

func main() {
	level := flag.Int("brotli", brotli.BestCompression, "brotli quality, 0-11")
	out := flag.String("out", "", "directory to write the .br and .size files to; beside each file when empty")
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
	// Write next to the file, atomically, so that a failed build never
	// leaves a truncated .br that a server would embed. The length goes
	// first: a .br is never there without it.
	dest := name
	if out != "" {
		dest = filepath.Join(out, filepath.Base(name))
	}
	for _, f := range []struct {
		ext string
		b   []byte
	}{{".size", []byte(strconv.Itoa(len(raw)) + "\n")}, {".br", br.Bytes()}} {
		tmp := dest + f.ext + ".tmp"
		if err := os.WriteFile(tmp, f.b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, dest+f.ext); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d bytes, brotli %d\n", name, len(raw), br.Len())
	return nil
}
