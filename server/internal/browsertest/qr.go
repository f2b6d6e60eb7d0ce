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
// gozxing's finder-pattern detector misjudges the module size of about one
// symbol in a few hundred even on a perfect image ("dimension = 35"), where
// a phone's reader simply tries again: so does ReadQR, trying harder, then
// reading the image as nothing but the symbol and its quiet zone.
func ReadQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	var firstErr error
	for _, hints := range []map[gozxing.DecodeHintType]any{
		nil,
		{gozxing.DecodeHintType_TRY_HARDER: true},
		{gozxing.DecodeHintType_PURE_BARCODE: true},
	} {
		res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
		if err == nil {
			return res.GetText(), nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", fmt.Errorf("no QR code can be read: %w", firstErr)
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
