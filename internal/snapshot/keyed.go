package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"math"
)

// Entry is one piece of keyed state: which state (by name), the encoded key,
// an optional namespace (an encoded window, for window state; empty
// otherwise), and the encoded value. Keys, namespaces and values are encoded
// by the codec package, so both backends agree on their bytes.
type Entry struct {
	State     string
	Key       []byte
	Namespace []byte
	Value     []byte
}

const (
	keyedMagic     = "WEIRKEYS"
	keyedHeaderLen = 22            // magic 8, version 2, start 4, end 4, CRC 4
	chunkHeaderLen = 4 + 4 + 2 + 1 // CRC, group, length, kind
	// maxChunk is the payload of every chunk but a block's last: big enough
	// to amortise the header and a read call, small enough to buffer.
	maxChunk  = 32 << 10
	chunkMore = 1
	chunkLast = 2
)

// KeyedWriter writes a keyed-state file: the blocks of one subtask's key
// groups, streamed so that memory stays at one 32 KiB chunk whatever the
// state's size. Write the groups in increasing order with BeginGroup, Add and
// EndGroup (or WriteGroup), then Close. A KeyedWriter is not safe for
// concurrent use. After an error, every later call returns it: the file is
// unusable and should be deleted.
type KeyedWriter struct {
	w          io.Writer
	start, end int
	offsets    []int64
	size       int64
	crc        uint32
	table      *crc32.Table
	err        error
	started    bool // the file header is written
	closed     bool

	group   int // the open group, valid while inGroup
	inGroup bool
	last    int // the last group begun, start-1 before any
	names   map[string]uint64
	count   uint64
	chunk   []byte // chunk header space, then payload
}

// NewKeyedWriter returns a writer of a keyed-state file for the key groups
// [keyGroups[0], keyGroups[1]) onto w. It writes nothing until the first
// call; an invalid range is reported by that call.
func NewKeyedWriter(w io.Writer, keyGroups [2]int) *KeyedWriter {
	kw := &KeyedWriter{w: w, start: keyGroups[0], end: keyGroups[1], last: keyGroups[0] - 1, table: castagnoli()}
	if kw.start < 0 || kw.end <= kw.start || kw.end > MaxKeyGroups {
		kw.err = fmt.Errorf("snapshot: key groups [%d, %d) are not a non-empty range within [0, %d)", kw.start, kw.end, MaxKeyGroups)
		return kw
	}
	kw.offsets = make([]int64, kw.end-kw.start)
	for i := range kw.offsets {
		kw.offsets[i] = -1
	}
	return kw
}

// BeginGroup starts the block of a key group, which must lie in the writer's
// range and follow every group begun before. Nothing is written for a group
// that gets no entries.
func (w *KeyedWriter) BeginGroup(group int) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case w.closed:
		return errors.New("snapshot: BeginGroup after Close")
	case w.inGroup:
		return fmt.Errorf("snapshot: BeginGroup(%d) while group %d is open: call EndGroup first", group, w.group)
	case group < w.start || group >= w.end:
		return fmt.Errorf("snapshot: key group %d is outside the writer's range [%d, %d)", group, w.start, w.end)
	case group <= w.last:
		return fmt.Errorf("snapshot: key group %d after group %d: write groups in increasing order", group, w.last)
	}
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.group, w.inGroup, w.last, w.count = group, true, group, 0
	clear(w.names)
	return nil
}

// Add appends an entry to the open group. The writer does not keep e's
// slices after Add returns.
func (w *KeyedWriter) Add(e Entry) error {
	if w.err != nil {
		return w.err
	}
	if !w.inGroup {
		return errors.New("snapshot: Add outside a group: call BeginGroup first")
	}
	if w.count == 0 {
		w.offsets[w.group-w.start] = w.size
		if w.names == nil {
			w.names = make(map[string]uint64)
		}
		if w.chunk == nil {
			w.chunk = make([]byte, chunkHeaderLen, chunkHeaderLen+maxChunk)
		}
	}
	ref, ok := w.names[e.State]
	if !ok {
		ref = uint64(len(w.names)) + 1
		w.names[e.State] = ref
	}
	w.putUvarint(ref)
	if !ok {
		w.putBytes([]byte(e.State))
	}
	w.putBytes(e.Key)
	w.putBytes(e.Namespace)
	w.putBytes(e.Value)
	w.count++
	return w.err
}

// EndGroup ends the open group's block.
func (w *KeyedWriter) EndGroup() error {
	if w.err != nil {
		return w.err
	}
	if !w.inGroup {
		return errors.New("snapshot: EndGroup without BeginGroup")
	}
	w.inGroup = false
	if w.count == 0 {
		return nil // invariant 7: no empty blocks
	}
	w.putUvarint(0)
	w.putUvarint(w.count)
	w.flush(chunkLast)
	return w.err
}

// WriteGroup writes one key group's block from entries, as BeginGroup, Add
// for each entry, and EndGroup do. A producer that can fail mid-way should
// call those itself, so that it can abandon the file.
func (w *KeyedWriter) WriteGroup(group int, entries iter.Seq[Entry]) error {
	if err := w.BeginGroup(group); err != nil {
		return err
	}
	for e := range entries {
		if err := w.Add(e); err != nil {
			return err
		}
	}
	return w.EndGroup()
}

// Close finishes the file and returns what the subtask's metadata records:
// the block offset of each group in the range (-1 for a group without
// state), the file's size and its CRC-32C. It does not close the underlying
// writer, and does not sync it.
func (w *KeyedWriter) Close() (offsets []int64, size int64, crc uint32, err error) {
	if w.err != nil {
		return nil, 0, 0, w.err
	}
	if w.inGroup {
		return nil, 0, 0, fmt.Errorf("snapshot: Close while group %d is open: call EndGroup first", w.group)
	}
	if err := w.writeHeader(); err != nil {
		return nil, 0, 0, err
	}
	w.closed = true
	return w.offsets, w.size, w.crc, nil
}

func (w *KeyedWriter) writeHeader() error {
	if w.started {
		return nil
	}
	w.started = true
	h := make([]byte, 0, keyedHeaderLen)
	h = append(h, keyedMagic...)
	h = binary.BigEndian.AppendUint16(h, FormatVersion)
	h = binary.BigEndian.AppendUint32(h, uint32(w.start))
	h = binary.BigEndian.AppendUint32(h, uint32(w.end))
	h = binary.BigEndian.AppendUint32(h, crc32.Checksum(h, w.table))
	w.write(h)
	return w.err
}

func (w *KeyedWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("snapshot: writing keyed state: %w", err)
		return
	}
	w.size += int64(len(b))
	w.crc = crc32.Update(w.crc, w.table, b)
}

func (w *KeyedWriter) putUvarint(v uint64) {
	var b [binary.MaxVarintLen64]byte
	w.put(b[:binary.PutUvarint(b[:], v)])
}

func (w *KeyedWriter) putBytes(b []byte) {
	w.putUvarint(uint64(len(b)))
	w.put(b)
}

// put adds p to the block's payload, sending a full chunk when one fills;
// a full chunk goes only once more bytes come, so the last chunk is never empty.
func (w *KeyedWriter) put(p []byte) {
	for len(p) > 0 && w.err == nil {
		if len(w.chunk) == chunkHeaderLen+maxChunk {
			w.flush(chunkMore)
		}
		n := min(len(p), chunkHeaderLen+maxChunk-len(w.chunk))
		w.chunk = append(w.chunk, p[:n]...)
		p = p[n:]
	}
}

func (w *KeyedWriter) flush(kind byte) {
	c := w.chunk
	binary.BigEndian.PutUint32(c[4:], uint32(w.group))
	binary.BigEndian.PutUint16(c[8:], uint16(len(c)-chunkHeaderLen))
	c[10] = kind
	binary.BigEndian.PutUint32(c, crc32.Checksum(c[4:], w.table))
	w.write(c)
	w.chunk = c[:chunkHeaderLen]
}

// KeyedReader reads the blocks of a keyed-state file by key group, reading
// only the bytes of the groups asked for. It is safe for concurrent use if
// its io.ReaderAt is: each Group call has its own buffers.
type KeyedReader struct {
	r          io.ReaderAt
	start, end int
	offsets    []int64
	ends       []int64 // ends[i] is where the block at offsets[i] ends
	table      *crc32.Table
}

// NewKeyedReader opens a keyed-state file of size bytes whose subtask's
// metadata records the key groups keyGroups and the block offsets offsets
// (Subtask.KeyGroups, KeyedSize and GroupOffsets). It reads and checks the
// file header; errors wrap ErrCorrupt or ErrVersion, or are I/O errors.
func NewKeyedReader(r io.ReaderAt, size int64, keyGroups [2]int, offsets []int64) (*KeyedReader, error) {
	start, end := keyGroups[0], keyGroups[1]
	if start < 0 || end <= start || end > MaxKeyGroups {
		return nil, fmt.Errorf("%w: key groups [%d, %d) are not a non-empty range within [0, %d)", ErrCorrupt, start, end, MaxKeyGroups)
	}
	if len(offsets) != end-start {
		return nil, fmt.Errorf("%w: %d group offsets for the %d key groups [%d, %d)", ErrCorrupt, len(offsets), end-start, start, end)
	}
	if err := checkOffsets(offsets, start, size); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	h := make([]byte, keyedHeaderLen)
	if err := readAt(r, h, 0); err != nil {
		return nil, err
	}
	table := castagnoli()
	switch {
	case string(h[:8]) != keyedMagic:
		return nil, fmt.Errorf("%w: not a keyed-state file (magic %q, want %q)", ErrCorrupt, h[:8], keyedMagic)
	case crc32.Checksum(h[:keyedHeaderLen-crcLen], table) != binary.BigEndian.Uint32(h[keyedHeaderLen-crcLen:]):
		return nil, fmt.Errorf("%w: keyed file header checksum mismatch", ErrCorrupt)
	case binary.BigEndian.Uint16(h[8:]) != FormatVersion:
		return nil, versionError("keyed-state", int(binary.BigEndian.Uint16(h[8:])))
	}
	if hs, he := binary.BigEndian.Uint32(h[10:]), binary.BigEndian.Uint32(h[14:]); int64(hs) != int64(start) || int64(he) != int64(end) {
		return nil, fmt.Errorf("%w: keyed file holds key groups [%d, %d), its metadata says [%d, %d)", ErrCorrupt, hs, he, start, end)
	}
	kr := &KeyedReader{r: r, start: start, end: end, offsets: offsets, ends: make([]int64, len(offsets)), table: table}
	next := size
	for i := len(offsets) - 1; i >= 0; i-- {
		if offsets[i] >= 0 {
			kr.ends[i], next = next, offsets[i]
		}
	}
	return kr, nil
}

// readAt reads exactly len(p) bytes at off; a short file is corruption.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: keyed file ends at %d, inside bytes [%d, %d) it should hold", ErrCorrupt, off+int64(n), off, off+int64(len(p)))
	}
	return fmt.Errorf("snapshot: reading keyed file at offset %d: %w", off, err)
}

// KeyGroups returns the range of key groups the file holds.
func (r *KeyedReader) KeyGroups() [2]int { return [2]int{r.start, r.end} }

// Group streams the entries of one key group, in the order they were
// written; a group without state yields nothing. Each chunk is checked
// before its entries are yielded, but a later chunk may still turn out
// corrupt: then the iteration yields an error wrapping ErrCorrupt and stops,
// and the restore must be abandoned. An entry's byte slices are valid only
// until the iteration advances; copy them to keep them. The State string
// may be kept.
func (r *KeyedReader) Group(group int) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if group < r.start || group >= r.end {
			yield(Entry{}, fmt.Errorf("snapshot: key group %d is outside the keyed file's range [%d, %d)", group, r.start, r.end))
			return
		}
		off := r.offsets[group-r.start]
		if off < 0 {
			return
		}
		b := &blockReader{r: r.r, table: r.table, group: uint32(group), pos: off, end: r.ends[group-r.start]}
		if err := b.readBlock(yield); err != nil {
			yield(Entry{}, fmt.Errorf("%w (key group %d, block at offset %d)", err, group, off))
		}
	}
}

// blockReader parses one block, chunk by chunk.
type blockReader struct {
	r        io.ReaderAt
	table    *crc32.Table
	group    uint32
	pos, end int64  // the next chunk's offset; the block's end
	buf      []byte // the chunk read buffer
	payload  []byte // the unread rest of the current chunk's payload
	last     bool   // the current chunk is the block's last
}

// readBlock yields the block's entries; it returns nil when done or when
// yield asks to stop.
func (b *blockReader) readBlock(yield func(Entry, error) bool) error {
	var names []string
	var ebuf []byte
	for count := uint64(0); ; count++ {
		ref, err := b.uvarint()
		if err != nil {
			return err
		}
		if ref == 0 {
			return b.readEnd(count)
		}
		switch {
		case ref == uint64(len(names))+1:
			if ebuf, err = b.bytes(ebuf[:0]); err != nil {
				return err
			}
			names = append(names, string(ebuf))
		case ref > uint64(len(names)):
			return fmt.Errorf("%w: state name reference %d, but only %d names defined", ErrCorrupt, ref, len(names))
		}
		ebuf = ebuf[:0]
		if ebuf, err = b.bytes(ebuf); err != nil {
			return err
		}
		k := len(ebuf)
		if ebuf, err = b.bytes(ebuf); err != nil {
			return err
		}
		ns := len(ebuf)
		if ebuf, err = b.bytes(ebuf); err != nil {
			return err
		}
		e := Entry{State: names[ref-1], Key: ebuf[:k:k], Namespace: ebuf[k:ns:ns], Value: ebuf[ns:len(ebuf):len(ebuf)]}
		if !yield(e, nil) {
			return nil
		}
	}
}

func (b *blockReader) readEnd(count uint64) error {
	n, err := b.uvarint()
	if err != nil {
		return err
	}
	switch {
	case n != count:
		return fmt.Errorf("%w: block ends claiming %d entries, it has %d", ErrCorrupt, n, count)
	case count == 0:
		return fmt.Errorf("%w: empty block", ErrCorrupt)
	case len(b.payload) != 0 || !b.last:
		return fmt.Errorf("%w: bytes after the block's end marker", ErrCorrupt)
	case b.pos != b.end:
		return fmt.Errorf("%w: block ends at offset %d, the next block starts at %d", ErrCorrupt, b.pos, b.end)
	}
	return nil
}

// next loads and checks the block's next chunk.
func (b *blockReader) next() error {
	if b.last {
		return fmt.Errorf("%w: block's last chunk ends inside an entry", ErrCorrupt)
	}
	if b.end-b.pos < chunkHeaderLen {
		return fmt.Errorf("%w: %d bytes left in the block, too few for a chunk", ErrCorrupt, b.end-b.pos)
	}
	if b.buf == nil {
		b.buf = make([]byte, chunkHeaderLen+maxChunk)
	}
	c := b.buf[:min(int64(len(b.buf)), b.end-b.pos)]
	if err := readAt(b.r, c, b.pos); err != nil {
		return err
	}
	length := int(binary.BigEndian.Uint16(c[8:]))
	if length > len(c)-chunkHeaderLen {
		return fmt.Errorf("%w: chunk at offset %d claims %d bytes, the block has %d left", ErrCorrupt, b.pos, length, len(c)-chunkHeaderLen)
	}
	c = c[:chunkHeaderLen+length]
	if got, want := crc32.Checksum(c[4:], b.table), binary.BigEndian.Uint32(c); got != want {
		return fmt.Errorf("%w: chunk at offset %d: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, b.pos, want, got)
	}
	if g := binary.BigEndian.Uint32(c[4:]); g != b.group {
		return fmt.Errorf("%w: chunk at offset %d belongs to key group %d", ErrCorrupt, b.pos, g)
	}
	switch kind := c[10]; {
	case kind == chunkMore && length == maxChunk:
	case kind == chunkLast && length > 0:
		b.last = true
	default:
		return fmt.Errorf("%w: chunk at offset %d: kind %d with %d bytes", ErrCorrupt, b.pos, kind, length)
	}
	b.pos += int64(len(c))
	b.payload = c[chunkHeaderLen:]
	return nil
}

// readByte reads the next payload byte, loading chunks as needed.
func (b *blockReader) readByte() (byte, error) {
	for len(b.payload) == 0 {
		if err := b.next(); err != nil {
			return 0, err
		}
	}
	c := b.payload[0]
	b.payload = b.payload[1:]
	return c, nil
}

// uvarint reads a uvarint as binary.Uvarint does, across chunks.
func (b *blockReader) uvarint() (uint64, error) {
	var x uint64
	for i, s := 0, uint(0); i < binary.MaxVarintLen64; i, s = i+1, s+7 {
		c, err := b.readByte()
		if err != nil {
			return 0, err
		}
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<s, nil
		}
		x |= uint64(c&0x7f) << s
	}
	return 0, fmt.Errorf("%w: varint overflows 64 bits", ErrCorrupt)
}

// bytes reads a length-prefixed byte string and appends it to dst.
func (b *blockReader) bytes(dst []byte) ([]byte, error) {
	n, err := b.uvarint()
	if err != nil {
		return dst, err
	}
	// Bound the length by the block before allocating for it.
	if left := uint64(len(b.payload)) + uint64(b.end-b.pos); n > left || n > math.MaxInt-uint64(len(dst)) {
		return dst, fmt.Errorf("%w: byte string of %d bytes, the block has %d left", ErrCorrupt, n, left)
	}
	need := int(n)
	dst = grow(dst, need)
	for need > 0 {
		if len(b.payload) == 0 {
			if err := b.next(); err != nil {
				return dst, err
			}
		}
		k := min(need, len(b.payload))
		dst = append(dst, b.payload[:k]...)
		b.payload = b.payload[k:]
		need -= k
	}
	return dst, nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	return append(b[:len(b):len(b)], make([]byte, n)...)[:len(b)]
}
