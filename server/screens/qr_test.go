package screens

import (
	"regexp"
	"strconv"
	"testing"

	"rsc.io/qr"
)

func TestQRPathDrawsEveryDarkModuleInsideTheQuietZone(t *testing.T) {
	const text = "http://192.168.1.20:8080/sandbox/devicelogin?code=ABCDEFGHJ"
	got, err := encodeQR(text)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := qr.Encode(text, qr.M)
	if got.Size != want.Size+2*quietZone {
		t.Fatalf("size %d, want %d modules and a quiet zone of %d", got.Size, want.Size, quietZone)
	}
	dark := map[[2]int]bool{}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(got.Path, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		for i := range n {
			dark[[2]int{x + i - quietZone, y - quietZone}] = true
		}
	}
	for y := range got.Size {
		for x := range got.Size {
			inside := x < want.Size && y < want.Size
			if want := inside && want.Black(x, y); dark[[2]int{x, y}] != want {
				t.Fatalf("module (%d,%d): drawn %v, want %v", x, y, dark[[2]int{x, y}], want)
			}
		}
	}
}

func BenchmarkEncodeQR(b *testing.B) {
	for b.Loop() {
		if _, err := encodeQR("http://192.168.1.20:8080/sandbox/devicelogin?code=ABCDEFGHJ"); err != nil {
			b.Fatal(err)
		}
	}
}
