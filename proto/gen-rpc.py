#!/usr/bin/env python3
"""Generate C tables from proto/rpc-schema.json, the one definition of the RPC.

usage: gen-rpc.py agent SCHEMA OUTPUT.c
       gen-rpc.py ctl SCHEMA OUTPUT.h

agent: the agent's dispatch table.  Each command NAME maps to the handler
  cmd_NAME (dashes become underscores), declared in agent/commands.h; a
  command in the schema without a handler therefore fails to link.
  Argument specs carry the name, the type and whether the argument is
  optional, so that dispatch.c validates every request before the handler
  runs.

ctl: dmadirtyctl's command table.  Its sub-commands, their options and the
  members it prints are taken from the schema, so the client and the agent
  cannot drift apart: guest-dma-dirty-NAME becomes "NAME", guest-NAME
  becomes "NAME", and every argument becomes --ARGUMENT.  guest-sync and
  guest-sync-delimited are not sub-commands: the client sends
  guest-sync-delimited itself to resync.

Both read and check the schema the same way (load_schema()): known
argument types, no duplicate command or argument, guest-sync-delimited(id)
present.
"""

import json
import os
import sys

ARG_TYPES = ("int", "string", "bool")
# Commands the client sends itself rather than offering as sub-commands.
CTL_INTERNAL = ("guest-sync", "guest-sync-delimited")
# dmadirtyctl's own options, which an argument must not shadow.
CTL_RESERVED = ("socket", "timeout", "connect-timeout", "json", "verbose", "version", "help")


def fail(msg):
    raise SystemExit("gen-rpc: %s" % msg)


def c_ident(name):
    return name.replace("-", "_")


def c_string(text):
    out = ['"']
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
            out.append('""')  # end the octal escape before the next character
    out.append('"')
    return "".join(out)


def load_schema(path):
    """The schema's commands, checked."""
    with open(path, encoding="utf-8") as f:
        commands = json.load(f)["commands"]
    names = set()
    for cmd in commands:
        name = cmd["name"]
        if name in names:
            fail("duplicate command %s" % name)
        names.add(name)
        seen = set()
        for arg in cmd.get("args", []):
            if arg["type"] not in ARG_TYPES:
                fail("%s: argument %s: unknown type %r" % (name, arg["name"], arg["type"]))
            if arg["name"] in seen:
                fail("%s: duplicate argument %s" % (name, arg["name"]))
            seen.add(arg["name"])
    delimited = next((c for c in commands if c["name"] == "guest-sync-delimited"), None)
    if delimited is None or [a["name"] for a in delimited.get("args", [])] != ["id"]:
        fail("the schema lacks guest-sync-delimited(id)")
    return commands


def agent_table(commands):
    types = {"int": "DD_ARG_INT", "string": "DD_ARG_STRING", "bool": "DD_ARG_BOOL"}
    out = [
        "/* Generated from proto/rpc-schema.json by proto/gen-rpc.py: do not edit. */",
        '#include "config.h"',
        '#include "dispatch.h"',
        '#include "commands.h"',
        "",
    ]
    for cmd in commands:
        args = cmd.get("args", [])
        if not args:
            continue
        out.append("static const DdArgSpec args_%s[] = {" % c_ident(cmd["name"]))
        for arg in args:
            out.append("\t{ %s, %s, %s }," % (c_string(arg["name"]), types[arg["type"]],
                                            "TRUE" if arg.get("optional") else "FALSE"))
        out.append("};")
        out.append("")
    out.append("const DdCommand dd_rpc_commands[] = {")
    for cmd in commands:
        ident = c_ident(cmd["name"])
        nargs = len(cmd.get("args", []))
        out.append("\t{ %s, %s, %d, cmd_%s }," % (c_string(cmd["name"]),
                                                  "args_%s" % ident if nargs else "NULL",
                                                  nargs, ident))
    out.append("};")
    out.append("")
    out.append("const guint dd_rpc_n_commands = %d;" % len(commands))
    return out


def short_name(wire):
    for prefix in ("guest-dma-dirty-", "guest-"):
        if wire.startswith(prefix):
            return wire[len(prefix):]
    fail("command %r has no guest- prefix" % wire)


def ctl_header(commands):
    types = {"int": "CTL_ARG_INT", "string": "CTL_ARG_STRING", "bool": "CTL_ARG_BOOL"}
    lines = [
        "/* Generated from proto/rpc-schema.json by proto/gen-rpc.py: do not edit. */",
        "#ifndef DMADIRTYCTL_COMMANDS_H",
        "#define DMADIRTYCTL_COMMANDS_H",
        "",
        "#include <stddef.h>",
        "",
        "typedef enum { CTL_ARG_INT, CTL_ARG_STRING, CTL_ARG_BOOL } CtlArgType;",
        "",
        "typedef struct {",
        "\tconst char *name;\t/* wire name, and the option --NAME */",
        "\tCtlArgType type;",
        "\tint optional;",
        "\tconst char *doc;",
        "} CtlArg;",
        "",
        "typedef struct {",
        "\tconst char *name;\t/* dmadirtyctl's sub-command */",
        "\tconst char *wire;\t/* the RPC's name */",
        "\tconst char *doc;",
        "\tconst CtlArg *args;",
        "\tsize_t n_args;",
        "\tconst char *const *members;\t/* returned members, schema order, NULL-terminated */",
        "} CtlCommand;",
        "",
        "#define CTL_WIRE_SYNC_DELIMITED %s" % c_string("guest-sync-delimited"),
        "",
    ]
    table = []
    for cmd in commands:
        wire = cmd["name"]
        if wire in CTL_INTERNAL:
            continue
        ident = c_ident(wire)
        args = cmd.get("args", [])
        if args:
            lines.append("static const CtlArg ctl_args_%s[] = {" % ident)
            for a in args:
                if a["name"] in CTL_RESERVED:
                    fail("%s: argument --%s clashes with dmadirtyctl's own option"
                         % (wire, a["name"]))
                lines.append("\t{ %s, %s, %d, %s }," % (c_string(a["name"]), types[a["type"]],
                                                     1 if a.get("optional") else 0,
                                                     c_string(a.get("doc", ""))))
            lines.append("};")
        members = cmd.get("returns", {}).get("members", [])
        lines.append("static const char *const ctl_members_%s[] = { %s };"
                     % (ident, ", ".join([c_string(m["name"]) for m in members] + ["NULL"])))
        table.append("\t{ %s, %s, %s, %s, %d, ctl_members_%s },"
                     % (c_string(short_name(wire)), c_string(wire), c_string(cmd.get("doc", "")),
                        ("ctl_args_%s" % ident) if args else "NULL", len(args), ident))
    lines.append("")
    lines.append("static const CtlCommand ctl_commands[] = {")
    lines.extend(table)
    lines.append("};")
    lines.append("")
    lines.append("#endif")
    return lines


def main(argv):
    if len(argv) != 4 or argv[1] not in ("agent", "ctl"):
        raise SystemExit(__doc__)
    commands = load_schema(argv[2])
    lines = agent_table(commands) if argv[1] == "agent" else ctl_header(commands)
    with open(argv[3] + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(argv[3] + ".tmp", argv[3])


if __name__ == "__main__":
    main(sys.argv)
