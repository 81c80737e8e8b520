package events

import (
	"errors"
	"io"
	"sync"
)

// Decoding JSON costs far more than reading lines (about 8 µs a line in
// encoding/json against well under one to read it), so a reader of a
// large file decodes batches of lines on several goroutines and hands the
// events out in file order.

// batchLines is how many lines a batch holds.
const batchLines = 512

type batch struct {
	lines [][]byte
	out   []decoded
	err   error // the read error after the batch's lines (io.EOF at the end)
	done  chan struct{}
}

type parallel struct {
	order chan *batch // batches in file order, as they are read
	quit  chan struct{}
	wg    sync.WaitGroup
	cur   *batch
	next  int
	once  sync.Once
}

// NewParallelEVEReader returns a reader of r that decodes lines on
// workers goroutines (one when workers < 1). Events come out in file
// order, counted as NewEVEReader counts them. Close stops the goroutines
// of a reader that is not read to its end.
func NewParallelEVEReader(r io.Reader, workers int) *EVEReader {
	x := NewEVEReader(r)
	workers = max(workers, 1)
	p := &parallel{order: make(chan *batch, 2*workers), quit: make(chan struct{})}
	x.par = p
	work := make(chan *batch, 2*workers)
	p.wg.Add(1 + workers)
	go func() {
		defer p.wg.Done()
		defer close(work)
		defer close(p.order)
		for {
			b := &batch{done: make(chan struct{})}
			for len(b.lines) < batchLines {
				line, err := x.readLine()
				if line == nil {
					b.err = err
					break
				}
				b.lines = append(b.lines, append([]byte(nil), line...))
			}
			select {
			case work <- b:
			case <-p.quit:
				return
			}
			select {
			case p.order <- b:
			case <-p.quit:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer p.wg.Done()
			for b := range work {
				b.out = make([]decoded, len(b.lines))
				for i, line := range b.lines {
					b.out[i] = decodeLine(line)
				}
				b.lines = nil
				close(b.done)
			}
		}()
	}
	return x
}

func (x *EVEReader) nextParallel() (*Event, error) {
	p := x.par
	for {
		if p.cur == nil {
			b, ok := <-p.order
			if !ok {
				return nil, errClosed
			}
			<-b.done
			p.cur, p.next = b, 0
		}
		b := p.cur
		for p.next < len(b.out) {
			d := b.out[p.next]
			p.next++
			x.line++
			if e := x.take(d); e != nil {
				return e, nil
			}
		}
		if b.err != nil {
			// The reader ends here; keep answering with its error.
			b.out = nil
			return nil, b.err
		}
		p.cur = nil
	}
}

// errClosed is what Next returns after Close.
var errClosed = errors.New("eve: reader closed")

// Close stops a parallel reader's goroutines; it is a no-op otherwise.
func (x *EVEReader) Close() {
	p := x.par
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.quit)
		// Let the reading goroutine see quit, and the workers finish
		// what they hold.
		go func() {
			for range p.order {
			}
		}()
		p.wg.Wait()
	})
}
