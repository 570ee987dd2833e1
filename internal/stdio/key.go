package stdio

// Key names one supervised process. Today vmcp runs one process per connector, shared by every
// user of it: Key{Connector: "files"}.
//
// The seam for per-user processes (per-user connector credentials): a connector whose
// credential belongs to each user must never share a process that holds another user's token,
// so it gets one bridge per Key{Connector, User}, started on first use with that user's token
// in the process's environment, and reaped when idle. Whatever routes a request (extproc's
// connector choice plus the verified identity) then picks the bridge by the caller's Key
// instead of by connector alone; the Bridge itself needs no change, since one Bridge already
// owns exactly one process.
type Key struct {
	// Connector is the connector's configured name.
	Connector string
	// User is the subject whose credential the process holds; empty for a process shared by
	// every user of the connector.
	User string
}

// String is the key as it appears in logs: the connector name, and the user when per-user.
func (k Key) String() string {
	if k.User == "" {
		return k.Connector
	}
	return k.Connector + "/" + k.User
}
