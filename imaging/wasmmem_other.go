//go:build !linux

package imaging

import "github.com/tetratelabs/wazero/experimental"

// wasmMemory is nil: the encoder's memory is the Go heap's, as wazero
// makes it (mapped memory is only done on Linux, where Vitrine's small
// hosts are).
var wasmMemory experimental.MemoryAllocator
