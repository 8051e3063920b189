#!/usr/bin/env python3
# Generate the agent's command table from proto/rpc-schema.json.
#
#   gen-rpc-table.py SCHEMA OUTPUT.c
#
# Each command NAME maps to the handler cmd_NAME (dashes become
# underscores), declared in agent/commands.h; a command in the schema
# without a handler therefore fails to link.  Argument specs carry the
# name, the type and whether the argument is optional, so that dispatch.c
# validates every request before the handler runs.
import json
import sys

TYPES = {"int": "DD_ARG_INT", "string": "DD_ARG_STRING", "bool": "DD_ARG_BOOL"}


def c_ident(name):
    return name.replace("-", "_")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen-rpc-table.py SCHEMA OUTPUT.c")
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)

    out = []
    out.append("/* Generated from proto/rpc-schema.json by agent/gen-rpc-table.py: do not edit. */")
    out.append('#include "config.h"')
    out.append('#include "dispatch.h"')
    out.append('#include "commands.h"')
    out.append("")
    names = set()
    for cmd in schema["commands"]:
        name = cmd["name"]
        if name in names:
            sys.exit(f"{sys.argv[1]}: duplicate command {name}")
        names.add(name)
        args = cmd.get("args", [])
        if not args:
            continue
        out.append(f"static const DdArgSpec args_{c_ident(name)}[] = {{")
        seen = set()
        for arg in args:
            if arg["type"] not in TYPES:
                sys.exit(f"{sys.argv[1]}: {name}: argument {arg['name']}: unknown type {arg['type']}")
            if arg["name"] in seen:
                sys.exit(f"{sys.argv[1]}: {name}: duplicate argument {arg['name']}")
            seen.add(arg["name"])
            opt = "TRUE" if arg.get("optional", False) else "FALSE"
            out.append(f'\t{{ "{arg["name"]}", {TYPES[arg["type"]]}, {opt} }},')
        out.append("};")
        out.append("")
    out.append("const DdCommand dd_rpc_commands[] = {")
    for cmd in schema["commands"]:
        name = cmd["name"]
        nargs = len(cmd.get("args", []))
        args = f"args_{c_ident(name)}" if nargs else "NULL"
        out.append(f'\t{{ "{name}", {args}, {nargs}, cmd_{c_ident(name)} }},')
    out.append("};")
    out.append("")
    out.append(f"const guint dd_rpc_n_commands = {len(schema['commands'])};")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
