"""flowc.runtime"""
