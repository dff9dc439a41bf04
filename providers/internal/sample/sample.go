// Package sample makes the small images the stand-in providers (fake,
// verifftest) serve as a session's document and face pictures: real PNG
// files, so content sniffing and image viewers accept them.
package sample

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// PNG returns an 8x8 PNG of one colour.
func PNG(c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := 0; x < 8; x++ {
		for y := 0; y < 8; y++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // encoding an in-memory RGBA image into a buffer cannot fail
	}
	return b.Bytes()
}

// The colours of the three pictures: front red, back green, face blue.
var (
	Front = color.RGBA{200, 30, 30, 255}
	Back  = color.RGBA{30, 200, 30, 255}
	Face  = color.RGBA{30, 30, 200, 255}
	Other = color.RGBA{200, 200, 200, 255}
)
