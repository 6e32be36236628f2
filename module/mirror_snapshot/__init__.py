# ceph-mgr finds the MgrModule subclass in the package namespace.
from .module import Module

__all__ = ['Module']
