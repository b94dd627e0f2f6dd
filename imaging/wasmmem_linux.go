package imaging

import (
	"math/bits"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// wasmMemory gives each encoder instance a linear memory mapped outside
// the Go heap: its whole possible size reserved as address space, made
// usable as the module grows it (so it never moves or copies) and
// unmapped when the instance closes. On a 32-bit system the reservation
// would not fit, and the memory is the Go heap's, as wazero makes it.
var wasmMemory experimental.MemoryAllocator

func init() {
	if bits.UintSize == 64 {
		wasmMemory = experimental.MemoryAllocatorFunc(mapWasmMemory)
	}
}

// mmapMemory is one instance's linear memory.
type mmapMemory struct {
	buf    []byte // the reservation; buf[:usable] is readable and writable
	usable uint64
}

// maxWasmReserve bounds the reservation: wasm32 addresses 4 GiB at most.
const maxWasmReserve = 4 << 30

func mapWasmMemory(_, max uint64) experimental.LinearMemory {
	size := min(max, maxWasmReserve)
	buf, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_NONE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		// wazero panics on a nil memory; the encode recovers it as an error.
		panic("reserve the encoder's memory: " + err.Error())
	}
	return &mmapMemory{buf: buf}
}

// Reallocate makes the first size bytes usable. The pages are new, so
// zero, as a grown wasm memory must be.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if size > m.usable {
		page := uint64(syscall.Getpagesize())
		end := (size + page - 1) / page * page
		if err := syscall.Mprotect(m.buf[m.usable:end], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.usable = end
	}
	return m.buf[:size:size]
}

// Free returns the memory to the system at once.
func (m *mmapMemory) Free() {
	if m.buf != nil {
		syscall.Munmap(m.buf)
		m.buf, m.usable = nil, 0
	}
}
