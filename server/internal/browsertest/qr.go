package browsertest

import (
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// ReadQR reads a QR code as a phone's camera would: from an image of it.
func ReadQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", fmt.Errorf("no QR code can be read: %w", err)
	}
	return res.GetText(), nil
}

// ReadQRPath reads the QR code of a screen's state (wire.QR: its size in
// modules and the SVG path of its dark modules) by drawing its pixels.
func ReadQRPath(size int, path string) (string, error) {
	const scale = 8
	img := image.NewGray(image.Rect(0, 0, size*scale, size*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for run := range strings.SplitSeq(path, "z") {
		if run == "" {
			continue
		}
		var x, y, n, back int
		if _, err := fmt.Sscanf(run, "M%d %dh%dv1h-%d", &x, &y, &n, &back); err != nil {
			return "", fmt.Errorf("QR path %q: %w", run, err)
		}
		for px := x * scale; px < (x+n)*scale; px++ {
			for py := y * scale; py < (y+1)*scale; py++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	return ReadQR(img)
}
