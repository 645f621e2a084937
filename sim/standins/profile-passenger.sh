# Sourced at login: where Passenger keeps its instance registry.
PASSENGER_INSTANCE_REGISTRY_DIR=$FERRY_ROOT/var/hvmail/passenger/run
export PASSENGER_INSTANCE_REGISTRY_DIR
