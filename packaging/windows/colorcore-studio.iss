; Inno Setup script: Windows installer for the one-folder ColorCore Studio build.
;
; Needs: Inno Setup 6.2+ (https://jrsoftware.org/isinfo.php) and the bundle from
;   python packaging\build.py            (makes dist\colorcore-studio\)
; Build (from the repository root):
;   iscc /DAppVersion=0.1.0 packaging\windows\colorcore-studio.iss
; For a CUDA bundle (over 2 GB) add /DLargeBundle, which splits the installer into setup + .bin slices.
; Output: dist\installer\ColorCore-Studio-<version>-setup.exe
;
; Installs per user by default (no admin prompt; the user may choose "all users"), with a Start-menu
; entry, an optional desktop shortcut and an uninstaller (Settings > Apps, or the Start-menu entry).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "ColorCore Studio"
#define AppExe "colorcore-studio.exe"
#define BundleDir "..\..\dist\colorcore-studio"
#define IconFile "..\..\resources\icons\colorcore-studio.ico"

[Setup]
AppId={{6C1D8E0B-5F2A-4B8C-9E3D-7A4F1C2B9D60}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=ColorCore Studio contributors
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist\installer
OutputBaseFilename=ColorCore-Studio-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=no
#ifdef LargeBundle
DiskSpanning=yes
DiskSliceSize=max
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{group}\{#AppName} self-test"; Filename: "{app}\{#AppExe}"; Parameters: "--self-test"; WorkingDir: "{userdocs}"; Comment: "Checks the installation; writes colorcore-studio-selftest.txt in your home folder"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: filesandordirs; Name: "{app}\_internal"
