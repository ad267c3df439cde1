package seeded

import (
	"encoding/binary"
	"hash"
	"hash/fnv"
)

// Draw is one draw being made: the seed and what the draw is for are
// hashed in, and Uint64 or Float gives the number.
type Draw struct{ h hash.Hash64 }

// New starts a draw from seed.
func New(seed int64) *Draw {
	d := &Draw{h: fnv.New64a()}
	return d.Int(uint64(seed))
}

// Int adds a number to what the draw is for.
func (d *Draw) Int(v uint64) *Draw {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	d.h.Write(b[:])
	return d
}

// Word adds a string to what the draw is for (ended, so that "ab","c"
// and "a","bc" draw differently).
func (d *Draw) Word(s string) *Draw {
	d.h.Write([]byte(s))
	d.h.Write([]byte{0})
	return d
}

// Uint64 is the draw: FNV-1a of the inputs, then SplitMix64's finaliser,
// so that near inputs give far outputs.
func (d *Draw) Uint64() uint64 {
	x := d.h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Float is the draw as a number in [0, 1).
func (d *Draw) Float() float64 { return float64(d.Uint64()>>11) / (1 << 53) }
