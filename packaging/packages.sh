# Debian packages, shared by packaging/dev and packaging/sandbox (sourced, not run).

# What the two sandbox clusters need to run.
SANDBOX_PACKAGES=(ceph-mon ceph-mgr ceph-osd ceph-common ceph-base ceph-mgr-modules-core
                  python3-rados python3-rbd uuid-runtime)

# missing_packages PKG...: prints, one per line, those not installed.
missing_packages() {
  local pkg
  for pkg; do
    if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
      echo "$pkg"
    fi
  done
}
