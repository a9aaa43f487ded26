package monitor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"
)

// LogReadOptions selects what ReadLog prints.
type LogReadOptions struct {
	// Since and Until, when set, drop lines logged before or after them
	// (a line split into partial records counts from its first part).
	Since, Until time.Time
	// Tail prints only the last Tail lines of what is already logged;
	// negative prints everything.
	Tail int
	// Follow keeps printing what the container writes after the existing log.
	Follow bool
	// FollowUntil, with Follow, is called at every poll; once it returns
	// true the rest of the log is read and ReadLog returns nil. Pass a check
	// for the exit file (the monitor writes it after the last output is
	// logged). Nil follows until ctx ends.
	FollowUntil func() bool
	// Timestamps prefixes each line with the time it was logged.
	Timestamps bool
}

// followInterval is how often a followed log is polled.
const followInterval = 200 * time.Millisecond

// ReadLog prints a k8s-file or json-file container log (the format is told
// apart by each record's first byte), the rotated LogPath+".1" first,
// sending each stream to its writer (stderr nil means stdout). Partial
// records are joined into their lines. A missing log is an error matching
// os.ErrNotExist. Following ends when opts.FollowUntil says so (nil error)
// or when ctx ends (ctx.Err()).
func ReadLog(ctx context.Context, path string, opts LogReadOptions, stdout, stderr io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = stdout
	}
	p := &logPrinter{opts: opts, stdout: stdout, stderr: stderr, atStart: true}
	var h history
	if opts.Tail >= 0 {
		h.max = opts.Tail
		h.enabled = true
	}
	emit := func(e logEntry) error {
		if h.enabled {
			h.add(e, p.filtered(e))
			return nil
		}
		return p.piece(e)
	}

	if old, err := os.Open(path + ".1"); err == nil {
		err = newLogFile(old).read(emit)
		_ = old.Close()
		if err != nil {
			return err
		}
	}
	cur, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = cur.Close() }() // cur changes on rotation
	lf := newLogFile(cur)
	if err := lf.read(emit); err != nil {
		return err
	}
	if h.enabled {
		if err := h.print(p); err != nil {
			return err
		}
	}
	if !opts.Follow {
		return nil
	}

	timer := time.NewTimer(followInterval)
	defer timer.Stop()
	for {
		stop := opts.FollowUntil != nil && opts.FollowUntil()
		if err := lf.read(p.piece); err != nil {
			return err
		}
		// After a rotation path is a new file: finish the old one (read
		// above, and once more for what came after), then any file rotated
		// in between, and go on with the new one. More than two rotations
		// between polls lose the files in between.
		if fi, err := os.Stat(path); err == nil {
			if ofi, err := cur.Stat(); err == nil && !os.SameFile(fi, ofi) {
				if err := lf.read(p.piece); err != nil {
					return err
				}
				if mid, err := os.Open(path + ".1"); err == nil {
					var rerr error
					if mfi, err := mid.Stat(); err == nil && !os.SameFile(mfi, ofi) && !os.SameFile(mfi, fi) {
						rerr = newLogFile(mid).read(p.piece)
					}
					_ = mid.Close()
					if rerr != nil {
						return rerr
					}
				}
				next, err := os.Open(path)
				if err != nil {
					return err
				}
				_ = cur.Close()
				cur, lf = next, newLogFile(next)
				if err := lf.read(p.piece); err != nil {
					return err
				}
			}
		}
		if stop {
			return nil
		}
		timer.Reset(followInterval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// logEntry is one record of a log: a line, or part of one.
type logEntry struct {
	time    time.Time
	stderr  bool
	partial bool
	text    []byte // without the newline
}

// parseLogRecord parses one k8s-file or json-file record (without its
// newline). Records it cannot parse are skipped.
func parseLogRecord(rec []byte) (logEntry, bool) {
	if len(rec) > 0 && rec[0] == '{' {
		var e logEntry
		var log, stream string
		r := &jsonReader{b: rec}
		err := r.object(func(key string) error {
			var err error
			switch key {
			case "log":
				log, err = r.str()
			case "stream":
				stream, err = r.str()
			case "time":
				e.time, err = r.time()
			default:
				err = r.skip()
			}
			return err
		})
		if err != nil {
			return logEntry{}, false
		}
		text, full := strings.CutSuffix(log, "\n")
		e.stderr, e.partial, e.text = stream == "stderr", !full, []byte(text)
		return e, true
	}
	ts, rest, ok1 := bytes.Cut(rec, []byte{' '})
	stream, rest, ok2 := bytes.Cut(rest, []byte{' '})
	tag, text, _ := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 {
		return logEntry{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return logEntry{}, false
	}
	return logEntry{time: t, stderr: string(stream) == "stderr", partial: string(tag) == "P", text: text}, true
}

// logFile reads whole records from a log that may still be written to.
type logFile struct {
	r    *bufio.Reader
	part []byte // an incomplete record at the end of what was read so far
}

func newLogFile(f *os.File) *logFile { return &logFile{r: bufio.NewReaderSize(f, 64<<10)} }

// read calls fn for each complete record up to the end of the file as it
// is now; the entry's text is only valid during the call.
func (lf *logFile) read(fn func(logEntry) error) error {
	for {
		line, err := lf.r.ReadSlice('\n')
		switch {
		case err == nil:
			rec := line
			if len(lf.part) > 0 {
				lf.part = append(lf.part, line...)
				rec = lf.part
			}
			if e, ok := parseLogRecord(rec[:len(rec)-1]); ok {
				if err := fn(e); err != nil {
					return err
				}
			}
			lf.part = lf.part[:0]
		case errors.Is(err, bufio.ErrBufferFull):
			lf.part = append(lf.part, line...)
		case errors.Is(err, io.EOF):
			lf.part = append(lf.part, line...)
			return nil
		default:
			return err
		}
	}
}

// logPrinter writes entries as lines, deciding at each line's start
// whether the line passes the time filter.
type logPrinter struct {
	opts           LogReadOptions
	stdout, stderr io.Writer
	atStart        bool // the next entry starts a line
	skip           bool // the current line is filtered out
	buf            []byte
}

func (p *logPrinter) filtered(e logEntry) bool {
	return !p.opts.Since.IsZero() && e.time.Before(p.opts.Since) ||
		!p.opts.Until.IsZero() && e.time.After(p.opts.Until)
}

func (p *logPrinter) piece(e logEntry) error {
	if p.atStart {
		p.skip = p.filtered(e)
	}
	start := p.atStart
	p.atStart = !e.partial
	if p.skip {
		return nil
	}
	b := p.buf[:0]
	if start && p.opts.Timestamps {
		b = e.time.AppendFormat(b, k8sTimeLayout)
		b = append(b, ' ')
	}
	b = append(b, e.text...)
	if !e.partial {
		b = append(b, '\n')
	}
	p.buf = b
	w := p.stdout
	if e.stderr {
		w = p.stderr
	}
	_, err := w.Write(b)
	return err
}

// history keeps the last max lines for Tail.
type history struct {
	enabled bool
	max     int
	lines   [][]logEntry
	cur     []logEntry // the line being assembled
	curSkip bool
}

func (h *history) add(e logEntry, filtered bool) {
	if len(h.cur) == 0 {
		h.curSkip = filtered
	}
	e.text = bytes.Clone(e.text)
	h.cur = append(h.cur, e)
	if !e.partial {
		h.push()
	}
}

// push ends the current line, keeping it unless filtered; it reports
// whether the line was kept.
func (h *history) push() bool {
	kept := !h.curSkip && h.max > 0
	if kept {
		h.lines = append(h.lines, h.cur)
		if len(h.lines) > h.max {
			h.lines = h.lines[1:]
		}
	}
	h.cur = nil
	return kept
}

// print writes the kept lines. An unfinished last line counts as a line;
// when it is not printed, its continuation is skipped as well.
func (h *history) print(p *logPrinter) error {
	open := len(h.cur) > 0
	openKept := open && h.push()
	for _, line := range h.lines {
		for _, e := range line {
			if err := p.piece(e); err != nil {
				return err
			}
		}
	}
	if open && !openKept {
		p.atStart, p.skip = false, true
	}
	return nil
}
