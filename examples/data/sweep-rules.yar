// sweep-rules.yar — the YARA rules of examples/sample-sweep.dql
rule script_downloader : dropper
{
    meta:
        description = "downloads and runs a script"
        severity = 8
    strings:
        $dl = "DownloadString" nocase
        $iex = "IEX" fullword
    condition:
        all of them
}
rule wscript_shell : dropper
{
    meta:
        description = "starts programs through WScript.Shell"
        severity = 5
    strings:
        $a = "WScript.Shell"
    condition:
        $a
}
