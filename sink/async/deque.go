package async

// deque is a ring buffer that grows as needed: pushes and pops at both
// ends in constant time. The zero value is empty and ready.
type deque[T any] struct {
	buf  []T
	head int
	n    int
}

func (d *deque[T]) len() int { return d.n }

// at returns the i-th element from the front.
func (d *deque[T]) at(i int) *T { return &d.buf[(d.head+i)%len(d.buf)] }

func (d *deque[T]) grow() {
	if d.n < len(d.buf) {
		return
	}
	nb := make([]T, max(16, 2*len(d.buf)))
	for i := range d.n {
		nb[i] = *d.at(i)
	}
	d.buf, d.head = nb, 0
}

func (d *deque[T]) pushBack(v T) {
	d.grow()
	d.buf[(d.head+d.n)%len(d.buf)] = v
	d.n++
}

func (d *deque[T]) pushFront(v T) {
	d.grow()
	d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
	d.buf[d.head] = v
	d.n++
}

// popFront removes the front element and returns it.
func (d *deque[T]) popFront() T {
	var zero T
	v := d.buf[d.head]
	d.buf[d.head] = zero // let the collector have what v points to
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	return v
}

// clear removes every element.
func (d *deque[T]) clear() { *d = deque[T]{} }
