package screens

import (
	"fmt"
	"strings"

	"rsc.io/qr"

	"github.com/placard/placard/app/wire"
)

// quietZone is the margin of light modules around a QR symbol that readers
// need: 4 modules (ISO/IEC 18004).
const quietZone = 4

// encodeQR encodes text as a QR symbol, drawn as one SVG path of the dark
// modules, one rectangle per horizontal run.
func encodeQR(text string) (wire.QR, error) {
	// Level M survives some glare on a TV and keeps URLs of ~80
	// characters at a size a phone reads from a few metres.
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return wire.QR{}, fmt.Errorf("encoding a QR code: %w", err)
	}
	var b strings.Builder
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < c.Size && c.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run
		}
	}
	return wire.QR{Size: c.Size + 2*quietZone, Path: b.String()}, nil
}
