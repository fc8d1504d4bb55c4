from chassis.serve import serve
from registry.app import create_app
from registry.settings import RegistrySettings

serve(create_app, RegistrySettings())
