// Package examples carries the example configuration into the vmcp binary, so that `vmcp dev`
// runs on a fresh machine without any file of its own.
package examples

import _ "embed"

// Config is examples/vmcp.yaml.
//
//go:embed vmcp.yaml
var Config []byte

// NotesToken is examples/secrets/notes-token, the example notes connector's dev credential.
//
//go:embed secrets/notes-token
var NotesToken []byte
