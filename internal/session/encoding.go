package session

import (
	"encoding/binary"
	"errors"
	"sort"
)

// The sealed plaintext is a compact binary record rather than JSON: session ids are opened on
// every request, and this keeps Seal+Open in a few microseconds and the ids short.
//
//	uvarint expiry | string subject | string virtual server | string protocol version |
//	uvarint n | n × (string connector | string connector session id) | uvarint flags
//
// where flags bit 0 is URLElicitation (record version 3, the AAD says which);
// where string is uvarint length + bytes.
var errShort = errors.New("truncated session record")

const flagURLElicitation = 1 << 0

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encode(sess State) []byte {
	size := 16 + len(sess.Subject) + len(sess.VirtualServer) + len(sess.ProtocolVersion)
	names := make([]string, 0, len(sess.Upstream))
	for name, sid := range sess.Upstream {
		names = append(names, name)
		size += 4 + len(name) + len(sid)
	}
	sort.Strings(names) // deterministic, for tests and for equal states giving equal records
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(sess.Expiry))
	b = appendString(b, sess.Subject)
	b = appendString(b, sess.VirtualServer)
	b = appendString(b, sess.ProtocolVersion)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendString(b, name)
		b = appendString(b, sess.Upstream[name])
	}
	var flags uint64
	if sess.URLElicitation {
		flags |= flagURLElicitation
	}
	return binary.AppendUvarint(b, flags)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errShort
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func decode(b []byte) (State, error) {
	r := &reader{b: b}
	sess := State{Expiry: int64(r.uvarint())}
	sess.Subject = r.string()
	sess.VirtualServer = r.string()
	sess.ProtocolVersion = r.string()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errShort // each entry takes at least two bytes; refuse absurd counts early
	}
	if n > 0 && r.err == nil {
		sess.Upstream = make(map[string]string, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			name := r.string()
			sess.Upstream[name] = r.string()
		}
	}
	flags := r.uvarint()
	sess.URLElicitation = flags&flagURLElicitation != 0
	if r.err != nil || len(r.b) != 0 || flags&^flagURLElicitation != 0 {
		return State{}, errShort
	}
	return sess, nil
}
