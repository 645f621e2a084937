# Sourced at login: where GreenArrow Studio lives.
GREENARROW_STUDIO_HOME=$FERRY_ROOT/var/hvmail/studio
export GREENARROW_STUDIO_HOME
