// Package main is Pulumi's Python language host from sdk/v3 v3.79.0 (upstream_main.go, copied from
// the module by tools/build-tools, with its RunPlugin method renamed runPluginV379) plus this one
// compatibility shim.
//
// Why: the host's own module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// is not served by this machine's Go proxy at any version, and v3.79.0 is the last SDK release
// that carried the host inside sdk/v3. Engines since then tell a language host where a plugin
// (here: the policy pack) lives in RunPluginRequest.info, a ProgramInfo, instead of the deprecated
// `program` field that v3.79 reads; v3.79's generated proto does not know `info` and keeps it as
// unknown bytes. Without this shim the host runs `python ""` in the project directory, i.e. the
// Pulumi program instead of the policy pack. Everything else is upstream's code, unchanged.
package main

import (
	"google.golang.org/protobuf/encoding/protowire"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	runPluginRequestInfo = 5 // pulumirpc.RunPluginRequest.info (ProgramInfo), language.proto
	programInfoDirectory = 2 // pulumirpc.ProgramInfo.program_directory
)

// RunPlugin runs `python <program directory> <args>` as the current host does for a plugin
// directory with a __main__.py (a Python policy pack), after filling `program` from `info`.
func (host *pythonLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	if req.Program == "" {
		if info := field(req.ProtoReflect().GetUnknown(), runPluginRequestInfo); info != nil {
			if dir := field(info, programInfoDirectory); len(dir) > 0 {
				req.Program = string(dir)
			}
		}
	}
	return host.runPluginV379(req, server)
}

// field returns the bytes of the last length-delimited field `num` in a protobuf message, or nil.
func field(msg []byte, num protowire.Number) []byte {
	var out []byte
	for len(msg) > 0 {
		n, typ, taglen := protowire.ConsumeTag(msg)
		if taglen < 0 {
			return out
		}
		msg = msg[taglen:]
		var vlen int
		if typ == protowire.BytesType {
			var v []byte
			v, vlen = protowire.ConsumeBytes(msg)
			if vlen >= 0 && n == num {
				out = v
			}
		} else {
			vlen = protowire.ConsumeFieldValue(n, typ, msg)
		}
		if vlen < 0 {
			return out
		}
		msg = msg[vlen:]
	}
	return out
}
