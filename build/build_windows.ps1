# Build the Windows installer on a Windows machine (PowerShell, from the repository root):
#   powershell -ExecutionPolicy Bypass -File build\build_windows.ps1
# Needs: Python 3.11 x64 (python.org) on PATH, NSIS 3 (makensis on PATH).
# Produces: dist\OpenAlphaWorkstation\ (the app folder) and dist\OpenAlphaWorkstation-<version>-Setup.exe
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

if (-not (Test-Path .venv\Scripts\python.exe)) { py -3.11 -m venv .venv }
.venv\Scripts\python.exe -m pip install --upgrade pip
.venv\Scripts\python.exe -m pip install -r requirements\lock.txt
.venv\Scripts\python.exe -m pip install --no-deps -e .

.venv\Scripts\python.exe build\check_windows_deps.py --offline
.venv\Scripts\pyinstaller.exe --noconfirm --clean --distpath dist --workpath build\work build\workstation.spec

# Smoke test: the bundled CLI runs doctor, the GUI saves a screenshot and exits 0.
$smokeHome = Join-Path $env:TEMP ("oaw-smoke-" + [guid]::NewGuid())
dist\OpenAlphaWorkstation\workstation.exe --home $smokeHome doctor --offline
$gui = Start-Process dist\OpenAlphaWorkstation\OpenAlphaWorkstation.exe -ArgumentList "--home", $smokeHome, "gui", "--screenshot", "$smokeHome\bundle.png" -Wait -PassThru
if ($gui.ExitCode -ne 0 -or -not (Test-Path "$smokeHome\bundle.png")) { throw "bundle smoke test failed" }

$version = (.venv\Scripts\python.exe -c "import workstation; print(workstation.__version__)").Trim()
makensis -WX "-DVERSION=$version" "-DPAYLOAD_DIR=..\dist\OpenAlphaWorkstation" "-DOUTFILE=..\dist\OpenAlphaWorkstation-$version-Setup.exe" build\installer.nsi
Write-Host "built dist\OpenAlphaWorkstation-$version-Setup.exe"
