"""flowc.schemas"""
