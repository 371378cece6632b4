# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
COPY testfile.txt c:\
RUN dir c:\
COPY --from=mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022 C:\ C:\pwsh
