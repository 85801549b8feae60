// Package handover is what a manager hands the manager that replaces it
// in place ("zdaemon upgrade": execve of the zdrun now installed, same
// pid, so the program stays its child): a versioned state record in JSON
// and the descriptors the new manager inherits, each named for what it
// is. It owns the record's format and the passing of descriptors across
// execve; what each part keeps in it belongs to that part.
//
// Parts hand over in one place, a Registry (the supervisor's
// registerParts): each registers a function that puts its state (Out.State)
// and its descriptors (Out.File) under its own names. The new manager
// reads the record (Read) and each part takes back what it handed over
// by the same names (In.State, In.File) where it would otherwise create
// it; a nil *In (a fresh start) has nothing, so the same code serves both.
// Descriptor names in use: "control" (the listening control socket),
// "client" (the connection that asked for the upgrade: the new manager
// answers it), "transcript:read", "transcript:write" (the output pipe),
// "transcript:sink-stdout", "transcript:sink-stderr" (the sink plugin's
// output, still read by the new manager), "notify:socket:N",
// "notify:pipe:N" and "notify:pipe:N:program" (the notification endpoints
// of the N-th check), "eventlog:N" (the event log's N-th file), "await:N"
// (the N-th client waiting in await, with its request in the manager's
// state), and "listen:NAME" for held listen sockets.
//
// Before an upgrade the old manager runs the new executable as a separate
// process that reads the record and answers whether it can adopt it
// (Record.Check): a manager never execs into one that cannot take over.
package handover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// Version is the version of the state record's format this package
// writes and the newest it reads. A change that an older manager cannot
// read raises it (and Check then refuses older records only when they
// can no longer be read).
const Version = 1

// Record is the state record.
type Record struct {
	// Version is the record format's version.
	Version int `json:"version"`
	// From is the build version of the manager that wrote it.
	From string `json:"from"`
	// Parts are each part's state, by part name.
	Parts map[string]json.RawMessage `json:"parts,omitempty"`
	// Files are the inherited descriptors, by name.
	Files map[string]int `json:"files,omitempty"`
}

// Check says why a manager that knows the names known accepts cannot
// adopt rec, or nil when it can: a record format it does not read, or a
// part or descriptor it does not know (that part's state would be lost).
func (rec *Record) Check(known func(name string) bool) error {
	if rec.Version < 1 || rec.Version > Version {
		return fmt.Errorf("its state record has version %d; this manager reads versions 1 to %d", rec.Version, Version)
	}
	names := slices.Concat(slices.Collect(maps.Keys(rec.Parts)), slices.Collect(maps.Keys(rec.Files)))
	slices.Sort(names)
	for _, name := range names {
		if !known(name) {
			return fmt.Errorf("this manager does not know the %q that the running one hands over", name)
		}
	}
	return nil
}

// Known returns a test of names for Check: a name is known when it is one
// of names, or starts with one of them that ends in ":" ("listen:").
func Known(names ...string) func(string) bool {
	return func(name string) bool {
		for _, k := range names {
			if name == k || (strings.HasSuffix(k, ":") && strings.HasPrefix(name, k)) {
				return true
			}
		}
		return false
	}
}

// ParseRecord reads a record (the check mode's input).
func ParseRecord(r io.Reader) (*Record, error) {
	rec := new(Record)
	if err := json.NewDecoder(io.LimitReader(r, maxRecord)).Decode(rec); err != nil {
		return nil, fmt.Errorf("read the state record: %w", err)
	}
	return rec, nil
}

// maxRecord bounds a record (configuration and states are small).
const maxRecord = 16 << 20

// Registry is where the parts of a manager that survive an upgrade
// register what they hand over, in the order they hand it over.
type Registry struct {
	parts []part
}

type part struct {
	name string
	hand func(*Out) error
}

// Add registers a part: hand puts its state and descriptors into out.
func (r *Registry) Add(name string, hand func(out *Out) error) {
	r.parts = append(r.parts, part{name, hand})
}

// Collect runs every part's hand function.
func (r *Registry) Collect(out *Out) error {
	for _, p := range r.parts {
		if err := p.hand(out); err != nil {
			return fmt.Errorf("hand over the %s: %w", p.name, err)
		}
	}
	return nil
}

// Out is what an old manager hands over.
type Out struct {
	rec   Record
	files []*os.File
	owned []*os.File
}

// NewOut starts a record of the manager whose build version is from.
func NewOut(from string) *Out {
	return &Out{rec: Record{Version: Version, From: from, Parts: map[string]json.RawMessage{}, Files: map[string]int{}}}
}

// State records a part's state, as JSON.
func (o *Out) State(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state of %s: %w", name, err)
	}
	o.rec.Parts[name] = b
	return nil
}

// File hands f over under name; nil is nothing. The caller keeps f open
// until the execve. (Its descriptor is read without f.Fd, which would put
// it in blocking mode: read deadlines, and waking up a blocked accept,
// would no longer work in this manager should the upgrade not happen.)
func (o *Out) File(name string, f *os.File) {
	if f == nil {
		return
	}
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(n uintptr) { fd = int(n) })
	}
	if fd < 0 {
		fd = int(f.Fd())
	}
	o.rec.Files[name] = fd
	o.files = append(o.files, f)
}

// Record is the record so far.
func (o *Out) Record() *Record { return &o.rec }

// Marshal is the record as the check mode reads it.
func (o *Out) Marshal() ([]byte, error) { return json.Marshal(&o.rec) }

// In is what a new manager took over.
type In struct {
	rec   Record
	files map[string]int // descriptors not taken yet
}

// ErrNoRecord is a --upgraded manager without a readable record.
var ErrNoRecord = errors.New("no state record")

// From is the build version of the manager that handed over.
func (in *In) From() string {
	if in == nil {
		return ""
	}
	return in.rec.From
}

// File takes the descriptor handed over as name; nil when there is none
// (or in is nil: a fresh start). The file is close-on-exec again.
func (in *In) File(name string) *os.File {
	if in == nil {
		return nil
	}
	fd, ok := in.files[name]
	if !ok {
		return nil
	}
	delete(in.files, name)
	return os.NewFile(uintptr(fd), name)
}

// PollableFile takes a descriptor as File does, in non-blocking mode
// first, so that read deadlines work on it: for an endpoint the manager
// itself reads (an *os.File of a descriptor in blocking mode ignores
// deadlines, and the old manager may have put it in blocking mode,
// handing it to a plugin). Never for a descriptor a program writes or
// reads as its own (its open file description is shared).
func (in *In) PollableFile(name string) *os.File {
	if in == nil {
		return nil
	}
	if fd, ok := in.files[name]; ok {
		_ = setNonblock(fd)
	}
	return in.File(name)
}

// State decodes the state of a part into v, and reports whether there
// was one.
func (in *In) State(name string, v any) (bool, error) {
	if in == nil {
		return false, nil
	}
	b, ok := in.rec.Parts[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("state of %s: %w", name, err)
	}
	return true, nil
}

// Close closes the descriptors no part took, and says which they were.
func (in *In) Close() []string {
	if in == nil {
		return nil
	}
	names := slices.Sorted(maps.Keys(in.files))
	for _, name := range names {
		os.NewFile(uintptr(in.files[name]), name).Close()
	}
	clear(in.files)
	return names
}

// FileOwned hands f over as File does, and closes it when the record is
// discarded: for a duplicate made for the hand-over.
func (o *Out) FileOwned(name string, f *os.File) {
	o.File(name, f)
	if f != nil {
		o.owned = append(o.owned, f)
	}
}

// Discard closes the duplicates made for the hand-over (FileOwned), when
// it did not happen or was only a check.
func (o *Out) Discard() {
	for _, f := range o.owned {
		f.Close()
	}
	o.owned = nil
}
