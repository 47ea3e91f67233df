"""The MCP Bundle (.mcpb) for Claude Desktop: its manifest and the command that packs it."""
