package testkit

import (
	"encoding/binary"
	"hash/crc32"
)

// PNG colour types (the IHDR's), for BlankPNG.
const (
	PNGGray      byte = 0
	PNGRGB       byte = 2
	PNGGrayAlpha byte = 4
	PNGRGBA      byte = 6
)

// BlankPNG is a valid, non-interlaced PNG of w×h pixels whose samples are
// all zero (black; transparent where there is alpha), of colorType at
// depth 8 or 16 bits, with a tRNS chunk holding trns when it is not nil.
//
// Its pixel data is written directly as one deflate block of longest
// matches, so a decompression bomb costs neither its decoded size nor a
// compressor's time to make (zlib takes seconds on a bomb's 318 MB, over
// a minute under -race): a 6300×6300 16-bit RGBA bomb is a 2 MB file made
// in milliseconds.
func BlankPNG(w, h int, colorType, depth byte, trns []byte) []byte {
	channels := map[byte]int{PNGGray: 1, PNGRGB: 3, PNGGrayAlpha: 2, PNGRGBA: 4}[colorType]
	if w <= 0 || h <= 0 || channels == 0 || (depth != 8 && depth != 16) {
		panic("testkit.BlankPNG: unsupported image")
	}
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, colorType, 0, 0, 0) // deflate, adaptive filters, not interlaced
	out = pngChunk(out, "IHDR", ihdr)
	if trns != nil {
		out = pngChunk(out, "tRNS", trns)
	}
	// Every row is a filter byte (0: none) and its samples, all zero.
	n := int64(h) * (1 + int64(w)*int64(channels)*int64(depth)/8)
	out = pngChunk(out, "IDAT", zlibZeros(n))
	return pngChunk(out, "IEND", nil)
}

func pngChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// zlibZeros is a zlib stream of n zero bytes: one deflate block with the
// fixed Huffman codes (RFC 1951, 3.2.6) holding a literal zero, then
// copies of 258 bytes from distance 1, then the rest as literals.
func zlibZeros(n int64) []byte {
	const (
		literalZero = 0x0c // code 00110000, bits reversed as deflate writes them
		copy258     = 0xa3 // length code 285 (11000101, reversed), then distance code 0 (5 zero bits)
	)
	bw := bitWriter{out: []byte{0x78, 0x01}} // deflate, 32 KiB window, no dictionary
	bw.write(1, 1)                           // the final block
	bw.write(1, 2)                           // fixed Huffman codes
	bw.write(literalZero, 8)
	copies, rest := (n-1)/258, (n-1)%258
	for range copies {
		bw.write(copy258, 13)
	}
	for range rest {
		bw.write(literalZero, 8)
	}
	bw.write(0, 7) // end of block
	bw.flush()
	// Adler-32 of n zeros: the byte sum stays 1, and the sum of sums
	// grows by 1 a byte.
	adler := uint32(n%65521)<<16 | 1
	return binary.BigEndian.AppendUint32(bw.out, adler)
}

// bitWriter packs values least significant bit first, as deflate does.
type bitWriter struct {
	out  []byte
	acc  uint64
	bits uint
}

func (b *bitWriter) write(v uint64, n uint) {
	b.acc |= v << b.bits
	b.bits += n
	for b.bits >= 8 {
		b.out = append(b.out, byte(b.acc))
		b.acc >>= 8
		b.bits -= 8
	}
}

func (b *bitWriter) flush() {
	if b.bits > 0 {
		b.out = append(b.out, byte(b.acc))
		b.acc, b.bits = 0, 0
	}
}
