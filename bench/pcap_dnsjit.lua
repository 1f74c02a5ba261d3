-- pcap_dnsjit.lua — the dnsjit side of bench/pcap.sh: reads a pcap with
-- input.mmpcap + filter.layer (its fastest reader) and, per DNS payload on
-- port 53, either only parses the header and counts (mode "count") or
-- parses the message and prints one TSV row (addresses, ports, id, qr,
-- rcode, qname, qtype, ancount: mode "rows").
-- Usage: dnsjit pcap_dnsjit.lua FILE.pcap [count|rows]
local pcap = arg[2]
local mode = arg[3] or "rows"
local object = require("dnsjit.core.objects")
local input = require("dnsjit.input.mmpcap").new()
local layer = require("dnsjit.filter.layer").new()
local dns = require("dnsjit.core.object.dns").new()
local label = require("dnsjit.core.object.dns.label")
local ffi = require("ffi")
input:open(pcap)
layer:producer(input)
local producer, ctx = layer:produce()
local n = 0
local out = io.stdout
while true do
    local obj = producer(ctx)
    if obj == nil then break end
    if obj.obj_type == object.PAYLOAD then
        local pl = obj:cast()
        local proto = obj.obj_prev
        while proto ~= nil and proto.obj_type ~= object.UDP and proto.obj_type ~= object.TCP do proto = proto.obj_prev end
        if pl.len > 0 and proto ~= nil then
            local p = proto:cast()
            if p.sport == 53 or p.dport == 53 then
                dns.obj_prev = obj
                dns.includes_dnslen = proto.obj_type == object.TCP and 1 or 0
                if mode == "count" then
                    if dns:parse_header() == 0 then n = n + 1 end
                else
                    local rc, qs, ql, rrs, rl = dns:parse()
                    if rc == 0 then
                        local ip = proto.obj_prev
                        while ip ~= nil and ip.obj_type ~= object.IP and ip.obj_type ~= object.IP6 do ip = ip.obj_prev end
                        local t = ip:cast()
                        local qn, qt = "", ""
                        if dns.qdcount > 0 then
                            qn = label.tostring(dns, ql[1], 16) or ""
                            qt = dns.type_tostring(qs[1].type) or ""
                        end
                        out:write(t:source(), "\t", tonumber(p.sport), "\t", t:destination(), "\t", tonumber(p.dport), "\t",
                            tonumber(dns.id), "\t", tonumber(dns.qr), "\t", dns.rcode_tostring(dns.rcode) or "", "\t",
                            qn, "\t", qt, "\t", tonumber(dns.ancount), "\n")
                    end
                    n = n + 1
                end
            end
        end
    end
end
io.stderr:write(n, " messages\n")
