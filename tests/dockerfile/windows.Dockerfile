# escape=`
ARG WIN=mcr.microsoft.com/windows/servercore:ltsc2022
FROM $WIN AS build
RUN powershell -Command `
    Write-Host C:\path\to\thing
COPY --from=mcr.microsoft.com/dotnet/sdk:8.0 `
     C:\sdk C:\sdk
FROM `
  mcr.microsoft.com/windows/nanoserver:ltsc2022
